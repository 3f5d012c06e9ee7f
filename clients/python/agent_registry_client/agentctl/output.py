"""Printing results: a readable table by default, or JSON or YAML for scripts."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any

MAX_CELL_CHARS = 60


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses as dicts, enums by name, times in ISO 8601, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def render(value: Any, output: str, columns: tuple[str, ...] = ()) -> str:
    """`value` formatted as `output` (table, json or yaml), ending with a newline."""
    data = plain(value)
    if output == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output == "yaml":
        try:
            import yaml
        except ImportError:
            raise SystemExit("--output yaml needs PyYAML: pip install 'agent-registry-client[cli]'") from None
        return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return table(data, columns)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        text = ",".join(_cell(item) for item in value)
    elif isinstance(value, dict):
        text = ",".join(f"{key}={_cell(item)}" for key, item in value.items())
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = "" if value is None else str(value)
    text = " ".join(text.split())  # one line per row
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 3] + "..."


def table(data: Any, columns: tuple[str, ...] = ()) -> str:
    """Rows of `data` (a list of mappings) under upper-case headings; a mapping prints as key/value lines."""
    if isinstance(data, dict):
        width = max((len(key) for key in data), default=0)
        return "".join(f"{key.upper():<{width}}  {_cell(item)}\n" for key, item in data.items())
    if not isinstance(data, list):
        return f"{_cell(data)}\n"
    rows = [item if isinstance(item, dict) else {"value": item} for item in data]
    columns = columns or tuple(rows[0]) if rows else columns
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)]
    lines = [[column.upper() for column in columns], *cells]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n" for line in lines
    )

"""Loads the demo agents' JSON data shipped beside them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).parent / "data"


def load_data(file_name: str, override: str | None = None) -> Any:
    """Reads `data/<file_name>`, or the file at `override` when given."""
    path = Path(override) if override else DATA_DIR / file_name
    return json.loads(path.read_text(encoding="utf-8"))

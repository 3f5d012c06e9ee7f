"""Reads the Dockerfile's stages so a test can perform its steps without a container engine."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    """One FROM ... stage: its instructions in order, as (keyword, argument text)."""

    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """The arguments of every `keyword` instruction."""
        return [text for key, text in self.instructions if key == keyword]

    def env(self) -> dict[str, str]:
        """Its ENV settings (KEY=value form)."""
        settings: dict[str, str] = {}
        for text in self.all("ENV"):
            for item in shlex.split(text):
                key, _, value = item.partition("=")
                settings[key] = value
        return settings

    def exec_form(self, keyword: str) -> list[str]:
        """The JSON exec form of the last `keyword` (CMD), or the CMD of HEALTHCHECK."""
        text = self.all(keyword)[-1]
        if keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1]
        return list(json.loads(text))

    def pip_commands(self) -> list[list[str]]:
        """The pip invocations of its RUN instructions (other commands, e.g. useradd, need a container)."""
        commands = []
        for text in self.all("RUN"):
            for part in text.split("&&"):
                words = shlex.split(part)
                if words and words[0] == "pip":
                    commands.append(words)
        return commands

    def copies(self) -> list[tuple[str, str]]:
        """(source, destination) of its COPY instructions from the build context."""
        pairs = []
        for text in self.all("COPY"):
            if text.startswith("--from"):
                continue
            *sources, destination = shlex.split(text)
            pairs += [(source, destination) for source in sources]
        return pairs


def read_stages(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, argument = line.partition(" ")
        if keyword.upper() == "FROM":
            words = argument.split()
            stages.append(Stage(words[-1] if len(words) >= 3 and words[-2].upper() == "AS" else "final"))
            continue
        stages[-1].instructions.append((keyword.upper(), argument.strip()))
    return stages

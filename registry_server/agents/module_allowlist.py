"""Which modules agent factories may come from: checked before anything is imported."""

from __future__ import annotations

import re
from collections.abc import Iterable

from registry_server.domain.agent import FactoryRef
from registry_server.domain.errors import FactoryError

DEMO_AGENTS_PACKAGE = "registry_server.demo_agents"
SHIPPED_AGENT_PACKAGES = (DEMO_AGENTS_PACKAGE,)
_COMPONENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ModuleAllowlist:
    """Module prefixes matched on whole dotted components: `a.b` allows `a.b` and `a.b.c`, never `a.bc`."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        self._prefixes = tuple(tuple(prefix.split(".")) for prefix in prefixes if prefix)
        for prefix in self._prefixes:
            if not all(_COMPONENT.fullmatch(part) for part in prefix):
                raise ValueError(f"{'.'.join(prefix)!r} is not a dotted Python module prefix")

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The allowed prefixes, as configured."""
        return tuple(".".join(prefix) for prefix in self._prefixes)

    def allows(self, module: str) -> bool:
        """True when `module` is a well-formed module path under one of the prefixes."""
        parts = tuple(module.split("."))
        if not all(_COMPONENT.fullmatch(part) for part in parts):
            return False
        return any(parts[: len(prefix)] == prefix for prefix in self._prefixes)

    def check(self, factory: FactoryRef) -> None:
        """Raises FactoryError unless the factory's module may be imported."""
        if self.allows(factory.module):
            return
        allowed = ", ".join(self.prefixes) or "none"
        raise FactoryError(
            factory.module[:256],
            factory.function[:256],
            f"module {factory.module[:256]!r} is outside the allowed agent modules ({allowed}); "
            "the server's operator can allow it with --agent-modules (AGENT_REGISTRY_AGENT_MODULES)",
        )

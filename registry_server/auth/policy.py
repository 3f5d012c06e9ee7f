"""Which roles may call which RPC, and which RPCs are mutations that the audit log records."""

from __future__ import annotations

from dataclasses import dataclass

from registry_server.auth.principal import Principal, Role
from registry_server.domain.errors import PermissionDeniedError

_ADMIN = frozenset({Role.ADMIN})
_REGISTRY_READERS = frozenset({Role.ADMIN, Role.SERVICE, Role.READER})
_SESSION_WRITERS = frozenset({Role.ADMIN, Role.SERVICE})
_SESSION_READERS = frozenset({Role.ADMIN, Role.SERVICE, Role.USER})  # users: their own sessions only
_ROUTERS = frozenset({Role.ADMIN, Role.SERVICE, Role.USER})  # users: as themselves only
# Agent workers may call only what an ADK session service needs, and nothing of the registry or the router.
_ADK_SESSION_READERS = _SESSION_READERS | {Role.AGENT_WORKER}
_ADK_SESSION_WRITERS = _SESSION_WRITERS | {Role.AGENT_WORKER}


@dataclass(frozen=True)
class MethodRule:
    """The roles allowed to call a method, and whether it changes anything."""

    roles: frozenset[Role]
    mutation: bool


_RULES = {
    "RegistryService": {
        **dict.fromkeys(
            ("ListAgents", "GetAgent", "ExportRegistry", "SearchAgents", "WatchAgents"),
            MethodRule(_REGISTRY_READERS, False),
        ),
        **dict.fromkeys(
            (
                "RegisterAgent",
                "BatchRegisterAgents",
                "UpdateAgent",
                "SetAgentEnabled",
                "DeleteAgent",
                "ReloadAgent",
            ),
            MethodRule(_ADMIN, True),
        ),
    },
    "SessionService": {
        **dict.fromkeys(
            ("GetSession", "ListSessions", "GetUserState"), MethodRule(_ADK_SESSION_READERS, False)
        ),
        **dict.fromkeys(("ExportSession", "GetSessionStats"), MethodRule(_SESSION_READERS, False)),
        **dict.fromkeys(
            ("CreateSession", "DeleteSession", "AppendEvent"), MethodRule(_ADK_SESSION_WRITERS, True)
        ),
        **dict.fromkeys(
            ("AppendHistory", "RecordInvocation", "UpdateSessionStatus"), MethodRule(_SESSION_WRITERS, True)
        ),
        "PurgeExpiredSessions": MethodRule(_ADMIN, True),
    },
    "RouterService": {
        "Route": MethodRule(_ROUTERS, False),
        "RouteAndInvoke": MethodRule(_ROUTERS, True),
        "EvaluateRouting": MethodRule(_ADMIN, False),
    },
}
OPEN_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


def rule_for(method: str) -> MethodRule | None:
    """The rule of a full method name (`/agentregistry.v1.RegistryService/GetAgent`); None for open services.

    An unknown method of our package gets the strictest rule, so a new RPC is never open by mistake.
    """
    service, _, name = method.strip("/").partition("/")
    if service in OPEN_SERVICES:
        return None
    short = service.rsplit(".", 1)[-1]
    return _RULES.get(short, {}).get(name, MethodRule(_ADMIN, True))


def authorize(principal: Principal, method: str, rule: MethodRule) -> None:
    """Raises PermissionDeniedError unless one of the principal's roles may call the method."""
    if not principal.roles & rule.roles:
        allowed = ", ".join(sorted(role.value for role in rule.roles))
        raise PermissionDeniedError(
            f"{principal.name} may not call {method.rsplit('/', 1)[-1]}: it needs one of {allowed}"
        )

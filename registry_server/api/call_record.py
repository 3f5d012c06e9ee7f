"""What an RPC leaves behind: metrics, a log line and, for a mutation or a refused caller, an audit line."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio

from registry_server.api.audit import audit
from registry_server.api.rpc_call import CallMetadata, peer_address
from registry_server.auth.policy import MethodRule
from registry_server.auth.principal import Principal
from registry_server.metrics import RpcMetrics

if TYPE_CHECKING:
    from registry_server.api.interceptor import Admission

log = logging.getLogger("registry_server.rpc")

HEALTH_SERVICE = "/grpc.health.v1.Health/"
# A read that succeeded is counted in the metrics and logged at DEBUG: at INFO, the log holds every change
# and every failure. Building a log record for each read cost more CPU than the read itself (see bench/).
SUCCESSFUL_READ_LEVEL = logging.DEBUG
# Codes that say the call was cut short or refused: logged at WARNING, rate-limited when they come in bulk.
NOTEWORTHY = frozenset(
    {"CANCELLED", "DEADLINE_EXCEEDED", "UNAUTHENTICATED", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED"}
)


class CallRecorder:
    """Records the calls of one method."""

    def __init__(
        self, method: str, rule: MethodRule | None, metrics: RpcMetrics, admission: Admission
    ) -> None:
        self.method = method
        self.rule = rule
        self.metrics = metrics
        self._admission = admission
        quiet = method.startswith(HEALTH_SERVICE) or rule is None or not rule.mutation
        self._ok_level = SUCCESSFUL_READ_LEVEL if quiet else logging.INFO

    def record(  # noqa: PLR0917 (the interceptor's hot path: no argument object per call)
        self,
        context: aio.ServicerContext[Any, Any],
        call: CallMetadata,
        started: float,
        cancelled: bool,
        principal: Principal | None,
        request: Any,
    ) -> str:
        """Moves the metrics, writes the log and audit lines, and returns the call's status code name."""
        elapsed_s = time.perf_counter() - started
        code = _code_name(context, cancelled)
        self.metrics.seconds(elapsed_s)
        self.metrics.handled(code)
        if code not in NOTEWORTHY:
            level = self._ok_level if code == "OK" else logging.INFO
            self._log(level, code, elapsed_s, principal, suppressed=0)
            if self.rule is not None and self.rule.mutation:
                audit(principal, self.method, request, code)
            return code
        if code == "UNAUTHENTICATED" and principal is None:
            self._refused_before_authentication(context, elapsed_s, request)
            return code
        suppressed = self._admission.noteworthy.admit(code)
        if suppressed is not None:
            self._log(logging.WARNING, code, elapsed_s, principal, suppressed=suppressed)
        if self.rule is not None and self.rule.mutation:
            audit(principal, self.method, request, code)
        return code

    def _refused_before_authentication(
        self, context: aio.ServicerContext[Any, Any], elapsed_s: float, request: Any
    ) -> None:
        """One bounded audit line per refused call, rate-limited per peer so a flood cannot fill the disk."""
        peer = peer_address(context)
        suppressed = self._admission.auth_failures.admit(peer)
        if suppressed is None:
            return
        self._log(logging.WARNING, "UNAUTHENTICATED", elapsed_s, None, suppressed=suppressed, peer=peer)
        audit(None, self.method, request, "UNAUTHENTICATED", peer=peer, suppressed=suppressed)

    def _log(
        self,
        level: int,
        code: str,
        elapsed_s: float,
        principal: Principal | None,
        *,
        suppressed: int,
        peer: str | None = None,
    ) -> None:
        if not log.isEnabledFor(level):
            return
        who = principal.name if principal else "-"
        ms = round(elapsed_s * 1000, 2)
        more = f" ({suppressed} similar lines left out)" if suppressed else ""
        log.log(
            level,
            "rpc %s code=%s ms=%.2f principal=%s%s",
            self.method,
            code,
            ms,
            who,
            more,
            extra={"method": self.method, "code": code, "ms": ms, "principal": who, "peer": peer},
        )


def _code_name(context: aio.ServicerContext[Any, Any], cancelled: bool) -> str:
    code = context.code()
    if code is None and (cancelled or context.cancelled()):
        return "CANCELLED"
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "OK" if code in (None, 0) else str(code)

"""Request ids on PostgreSQL: a retried write applies once, whichever instance it reaches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry_server.domain.errors import ValidationError
from registry_server.sessions.request_log import decode_result, encode_result


async def once(
    connection: Any, request_id: str, request_fingerprint: str, now: int, operation: Callable[[Any], Any]
) -> Any:
    """Runs `operation` unless `request_id` was applied before (by any instance): then its first result."""
    if not request_id:
        return await operation(connection)
    claimed = await connection.fetchval(
        "INSERT INTO session_request_log (request_id, fingerprint, result, create_time) "
        "VALUES ($1, $2, '', $3) ON CONFLICT DO NOTHING RETURNING 1",
        request_id,
        request_fingerprint,
        now,
    )
    if claimed is None:
        row = await connection.fetchrow(
            "SELECT fingerprint, result FROM session_request_log WHERE request_id = $1", request_id
        )
        if row[0] != request_fingerprint:
            raise ValidationError.single(
                "request_id", "was already used for a different request; use a new id for each request"
            )
        return decode_result(row[1])
    result = await operation(connection)
    await connection.execute(
        "UPDATE session_request_log SET result = $2 WHERE request_id = $1", request_id, encode_result(result)
    )
    return result

"""Request ids (AIP-155) of registry mutations: validated, and bound to a fingerprint of the request."""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message

from registry_server.domain.errors import ValidationError
from registry_server.registry.changes import RequestKey

MAX_REQUEST_ID_LENGTH = 128


def request_key(method: str, request: Message) -> RequestKey | None:
    """The request's id and fingerprint, or None when it carries no request_id."""
    request_id: str = getattr(request, "request_id", "")
    if not request_id:
        return None
    if len(request_id) > MAX_REQUEST_ID_LENGTH or not request_id.isprintable() or not request_id.isascii():
        raise ValidationError.single(
            "request_id", f"must be 1-{MAX_REQUEST_ID_LENGTH} printable ASCII characters, e.g. a UUID"
        )
    unkeyed = type(request)()
    unkeyed.CopyFrom(request)
    unkeyed.ClearField("request_id")
    digest = hashlib.sha256(method.encode() + b"\0" + unkeyed.SerializeToString(deterministic=True))
    return RequestKey(request_id, digest.hexdigest()[:32])

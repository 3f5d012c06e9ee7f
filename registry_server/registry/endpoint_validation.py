"""Checks an A2A endpoint: an http(s) URL with a host, and a few well-formed HTTP headers."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from registry_server.domain.agent import A2AEndpoint
from registry_server.domain.errors import FieldViolation

MAX_URL_CHARS = 2048
MAX_HEADERS = 16
MAX_HEADER_VALUE_CHARS = 4096
# RFC 9110 token characters; a header value may hold visible characters, spaces and tabs only.
HEADER_NAME_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
HEADER_VALUE_PATTERN = re.compile(r"[\t\x20-\x7e\x80-\U0010ffff]*")
# Headers the HTTP client sets itself; letting a registration override them would break the requests.
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})


def endpoint_violations(endpoint: A2AEndpoint, field: str) -> list[FieldViolation]:
    """Every problem of `endpoint`, as field violations under `field` (e.g. `agent.a2a`)."""
    return _url_violations(endpoint.url, f"{field}.url") + _header_violations(
        endpoint.headers, f"{field}.headers"
    )


def _url_violations(url: str, field: str) -> list[FieldViolation]:
    if not url:
        return [FieldViolation(field, "is required, e.g. 'http://127.0.0.1:5001'")]
    if len(url) > MAX_URL_CHARS:
        return [FieldViolation(field, f"is {len(url)} characters; at most {MAX_URL_CHARS} are allowed")]
    if any(char.isspace() or not char.isprintable() for char in url):
        return [FieldViolation(field, "must not contain spaces or control characters")]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        return [FieldViolation(field, f"is not a URL: {error}")]
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return [FieldViolation(field, f"{url[:200]!r} is not an http:// or https:// URL with a host")]
    if parts.query or parts.fragment or parts.username or parts.password:
        return [FieldViolation(field, "must be the agent's base URL, without query, fragment or credentials")]
    return []


def _header_violations(headers: dict[str, str], field: str) -> list[FieldViolation]:
    violations = []
    if len(headers) > MAX_HEADERS:
        violations.append(
            FieldViolation(field, f"has {len(headers)} headers; at most {MAX_HEADERS} are allowed")
        )
    for name, value in headers.items():
        shown = repr(name[:64])
        if not HEADER_NAME_PATTERN.fullmatch(name):
            violations.append(FieldViolation(field, f"{shown} is not an HTTP header name"))
        elif name.lower() in RESERVED_HEADERS:
            violations.append(FieldViolation(f"{field}[{name}]", "is set by the registry's HTTP client"))
        if len(value) > MAX_HEADER_VALUE_CHARS or not HEADER_VALUE_PATTERN.fullmatch(value):
            violations.append(
                FieldViolation(
                    f"{field}[{name[:64]}]",
                    f"must be at most {MAX_HEADER_VALUE_CHARS} characters, without line breaks or control "
                    "characters",
                )
            )
    return violations

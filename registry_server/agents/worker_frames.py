"""The wire between the server and an agent worker: length-prefixed JSON objects over a socket."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from registry_server.domain.agent import FactoryRef

_LENGTH = struct.Struct(">I")
MAX_FRAME_BYTES = 16 * 1024 * 1024

Frame = dict[str, Any]


class FrameError(Exception):
    """The other side sent something that is not a frame of this protocol."""


def encode_frame(frame: Frame) -> bytes:
    """One frame: its length, then its JSON."""
    body = json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return _LENGTH.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> Frame | None:
    """The next frame, or None at a clean end of stream; raises FrameError on a malformed one."""
    try:
        header = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise FrameError("the stream ended inside a frame header") from exc
        return None
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"a frame of {length} bytes is over the {MAX_FRAME_BYTES}-byte limit")
    try:
        frame = json.loads(await reader.readexactly(length))
    except asyncio.IncompleteReadError as exc:
        raise FrameError("the stream ended inside a frame") from exc
    except ValueError as exc:
        raise FrameError(f"a frame is not JSON: {exc}") from exc
    if not isinstance(frame, dict):
        raise FrameError("a frame is not a JSON object")
    return frame


def factory_to_frame(factory: FactoryRef) -> Frame:
    """A factory reference as frame data."""
    return {"module": factory.module, "function": factory.function, "kwargs": factory.kwargs}


def factory_from_frame(data: Frame) -> FactoryRef:
    """The factory reference in frame data."""
    return FactoryRef(str(data["module"]), str(data["function"]), dict(data.get("kwargs") or {}))

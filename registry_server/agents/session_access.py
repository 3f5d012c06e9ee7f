"""How agent code reaches the server's SessionService: the workers' socket address and their token."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry_server.agents.worker_frames import Frame

SESSIONS_OPERATION = "sessions"


@dataclass(frozen=True)
class SessionAccess:
    """A `unix:` address of the server's agent-session socket and the bearer token it accepts."""

    address: str
    token: str = field(repr=False)  # a secret: never in a log line, an argv or a file

    def to_frame(self) -> Frame:
        """The frame that hands this access to a worker process over its private socket."""
        return {"op": SESSIONS_OPERATION, "address": self.address, "token": self.token}

    @classmethod
    def from_frame(cls, frame: Frame) -> SessionAccess:
        """The access a `sessions` frame carries."""
        return cls(str(frame["address"]), str(frame["token"]))

"""An event as a session store keeps it."""

from __future__ import annotations

import uuid

from registry_server.domain.session import Event, EventActions
from registry_server.sessions.scopes import without_temp


def storable(event: Event) -> Event:
    """The event as stored: an id if it had none, and no `temp:` keys."""
    actions = event.actions
    return Event(
        event_id=event.event_id or str(uuid.uuid4()),
        invocation_id=event.invocation_id,
        author=event.author,
        timestamp=event.timestamp,
        content=event.content,
        partial=False,
        turn_complete=event.turn_complete,
        actions=EventActions(
            without_temp(actions.state_delta),
            actions.artifact_delta,
            actions.transfer_to_agent,
            actions.escalate,
            actions.skip_summarization,
            actions.extra,
        ),
        extra=event.extra,
    )


def with_seq(event: Event, seq: int) -> Event:
    """The event numbered `seq`."""
    return Event(**{**vars(event), "seq": seq})

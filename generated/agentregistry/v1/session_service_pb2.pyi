import datetime

from agentregistry.v1 import session_pb2 as _session_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_ORDER_UNSPECIFIED: _ClassVar[SessionOrder]
    SESSION_ORDER_UPDATE_TIME_DESC: _ClassVar[SessionOrder]
SESSION_ORDER_UNSPECIFIED: SessionOrder
SESSION_ORDER_UPDATE_TIME_DESC: SessionOrder

class CreateSessionRequest(_message.Message):
    __slots__ = ("user_id", "metadata", "app_name", "session_id", "state_json", "request_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    metadata: _containers.ScalarMap[str, str]
    app_name: str
    session_id: str
    state_json: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., app_name: _Optional[str] = ..., session_id: _Optional[str] = ..., state_json: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id", "history_page_size", "history_page_token", "invocation_page_size", "invocation_page_token", "app_name", "user_id", "event_page_size", "event_page_token", "num_recent_events", "after_timestamp", "adk_events_json")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HISTORY_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    EVENT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NUM_RECENT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    AFTER_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ADK_EVENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    history_page_size: int
    history_page_token: str
    invocation_page_size: int
    invocation_page_token: str
    app_name: str
    user_id: str
    event_page_size: int
    event_page_token: str
    num_recent_events: int
    after_timestamp: float
    adk_events_json: bool
    def __init__(self, session_id: _Optional[str] = ..., history_page_size: _Optional[int] = ..., history_page_token: _Optional[str] = ..., invocation_page_size: _Optional[int] = ..., invocation_page_token: _Optional[str] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., event_page_size: _Optional[int] = ..., event_page_token: _Optional[str] = ..., num_recent_events: _Optional[int] = ..., after_timestamp: _Optional[float] = ..., adk_events_json: _Optional[bool] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session", "next_history_page_token", "next_invocation_page_token", "next_event_page_token", "adk_events_json")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    NEXT_HISTORY_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEXT_INVOCATION_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NEXT_EVENT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADK_EVENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    next_history_page_token: str
    next_invocation_page_token: str
    next_event_page_token: str
    adk_events_json: str
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ..., next_history_page_token: _Optional[str] = ..., next_invocation_page_token: _Optional[str] = ..., next_event_page_token: _Optional[str] = ..., adk_events_json: _Optional[str] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "user_id", "status", "create_time_start", "create_time_end", "update_time_start", "update_time_end", "app_name", "order_by", "include_state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_START_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_END_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_START_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_END_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    user_id: str
    status: _session_pb2.SessionStatus
    create_time_start: _timestamp_pb2.Timestamp
    create_time_end: _timestamp_pb2.Timestamp
    update_time_start: _timestamp_pb2.Timestamp
    update_time_end: _timestamp_pb2.Timestamp
    app_name: str
    order_by: SessionOrder
    include_state: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., user_id: _Optional[str] = ..., status: _Optional[_Union[_session_pb2.SessionStatus, str]] = ..., create_time_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., app_name: _Optional[str] = ..., order_by: _Optional[_Union[SessionOrder, str]] = ..., include_state: _Optional[bool] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[_session_pb2.Session]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[_session_pb2.Session, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AppendHistoryRequest(_message.Message):
    __slots__ = ("session_id", "role", "content", "agent_name", "app_name", "user_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    role: _session_pb2.Role
    content: str
    agent_name: str
    app_name: str
    user_id: str
    request_id: str
    def __init__(self, session_id: _Optional[str] = ..., role: _Optional[_Union[_session_pb2.Role, str]] = ..., content: _Optional[str] = ..., agent_name: _Optional[str] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AppendHistoryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: _session_pb2.HistoryEntry
    def __init__(self, entry: _Optional[_Union[_session_pb2.HistoryEntry, _Mapping]] = ...) -> None: ...

class RecordInvocationRequest(_message.Message):
    __slots__ = ("session_id", "invocation", "app_name", "user_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    invocation: _session_pb2.Invocation
    app_name: str
    user_id: str
    request_id: str
    def __init__(self, session_id: _Optional[str] = ..., invocation: _Optional[_Union[_session_pb2.Invocation, _Mapping]] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordInvocationResponse(_message.Message):
    __slots__ = ("invocation",)
    INVOCATION_FIELD_NUMBER: _ClassVar[int]
    invocation: _session_pb2.Invocation
    def __init__(self, invocation: _Optional[_Union[_session_pb2.Invocation, _Mapping]] = ...) -> None: ...

class UpdateSessionStatusRequest(_message.Message):
    __slots__ = ("session_id", "status", "app_name", "user_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    status: _session_pb2.SessionStatus
    app_name: str
    user_id: str
    request_id: str
    def __init__(self, session_id: _Optional[str] = ..., status: _Optional[_Union[_session_pb2.SessionStatus, str]] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateSessionStatusResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: _session_pb2.Session
    def __init__(self, session: _Optional[_Union[_session_pb2.Session, _Mapping]] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id", "app_name", "user_id", "request_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    app_name: str
    user_id: str
    request_id: str
    def __init__(self, session_id: _Optional[str] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportSessionRequest(_message.Message):
    __slots__ = ("session_id", "app_name", "user_id", "page_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    app_name: str
    user_id: str
    page_token: str
    def __init__(self, session_id: _Optional[str] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ..., page_token: _Optional[str] = ...) -> None: ...

class ExportSessionResponse(_message.Message):
    __slots__ = ("content", "content_type", "next_page_token")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    content: str
    content_type: str
    next_page_token: str
    def __init__(self, content: _Optional[str] = ..., content_type: _Optional[str] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSessionStatsRequest(_message.Message):
    __slots__ = ("user_id", "start_time", "end_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentStats(_message.Message):
    __slots__ = ("agent_name", "invocations", "successes", "failures", "success_rate", "p50_duration_ms", "p95_duration_ms")
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    INVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    P50_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    P95_DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    agent_name: str
    invocations: int
    successes: int
    failures: int
    success_rate: float
    p50_duration_ms: float
    p95_duration_ms: float
    def __init__(self, agent_name: _Optional[str] = ..., invocations: _Optional[int] = ..., successes: _Optional[int] = ..., failures: _Optional[int] = ..., success_rate: _Optional[float] = ..., p50_duration_ms: _Optional[float] = ..., p95_duration_ms: _Optional[float] = ...) -> None: ...

class GetSessionStatsResponse(_message.Message):
    __slots__ = ("agents", "total_invocations")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INVOCATIONS_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[AgentStats]
    total_invocations: int
    def __init__(self, agents: _Optional[_Iterable[_Union[AgentStats, _Mapping]]] = ..., total_invocations: _Optional[int] = ...) -> None: ...

class PurgeExpiredSessionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PurgeExpiredSessionsResponse(_message.Message):
    __slots__ = ("purged_count",)
    PURGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    purged_count: int
    def __init__(self, purged_count: _Optional[int] = ...) -> None: ...

class AppendEventRequest(_message.Message):
    __slots__ = ("session_id", "event", "expected_revision", "request_id", "app_name", "user_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    event: _session_pb2.Event
    expected_revision: int
    request_id: str
    app_name: str
    user_id: str
    def __init__(self, session_id: _Optional[str] = ..., event: _Optional[_Union[_session_pb2.Event, _Mapping]] = ..., expected_revision: _Optional[int] = ..., request_id: _Optional[str] = ..., app_name: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class AppendEventResponse(_message.Message):
    __slots__ = ("event", "revision")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    event: _session_pb2.Event
    revision: int
    def __init__(self, event: _Optional[_Union[_session_pb2.Event, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class GetUserStateRequest(_message.Message):
    __slots__ = ("app_name", "user_id")
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    app_name: str
    user_id: str
    def __init__(self, app_name: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetUserStateResponse(_message.Message):
    __slots__ = ("state_json",)
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    state_json: str
    def __init__(self, state_json: _Optional[str] = ...) -> None: ...

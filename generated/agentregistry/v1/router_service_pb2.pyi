from agentregistry.v1 import routing_pb2 as _routing_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RouteRequest(_message.Message):
    __slots__ = ("query", "session_id", "user_id")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    query: str
    session_id: str
    user_id: str
    def __init__(self, query: _Optional[str] = ..., session_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: _routing_pb2.RoutingDecision
    def __init__(self, decision: _Optional[_Union[_routing_pb2.RoutingDecision, _Mapping]] = ...) -> None: ...

class RouteAndInvokeRequest(_message.Message):
    __slots__ = ("query", "session_id", "user_id")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    query: str
    session_id: str
    user_id: str
    def __init__(self, query: _Optional[str] = ..., session_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class RouteAndInvokeResponse(_message.Message):
    __slots__ = ("decision", "agent_result", "completed", "agent_chunk")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    AGENT_RESULT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    AGENT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    decision: _routing_pb2.RoutingDecision
    agent_result: AgentResult
    completed: Completed
    agent_chunk: AgentChunk
    def __init__(self, decision: _Optional[_Union[_routing_pb2.RoutingDecision, _Mapping]] = ..., agent_result: _Optional[_Union[AgentResult, _Mapping]] = ..., completed: _Optional[_Union[Completed, _Mapping]] = ..., agent_chunk: _Optional[_Union[AgentChunk, _Mapping]] = ...) -> None: ...

class AgentChunk(_message.Message):
    __slots__ = ("agent_name", "text")
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    agent_name: str
    text: str
    def __init__(self, agent_name: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class AgentResult(_message.Message):
    __slots__ = ("agent_name", "response", "success", "duration_ms", "error")
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    agent_name: str
    response: str
    success: bool
    duration_ms: int
    error: str
    def __init__(self, agent_name: _Optional[str] = ..., response: _Optional[str] = ..., success: _Optional[bool] = ..., duration_ms: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class Completed(_message.Message):
    __slots__ = ("combined_response", "session_id")
    COMBINED_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    combined_response: str
    session_id: str
    def __init__(self, combined_response: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

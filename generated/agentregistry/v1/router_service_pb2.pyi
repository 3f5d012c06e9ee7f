from agentregistry.v1 import routing_pb2 as _routing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RoutingCase(_message.Message):
    __slots__ = ("query", "previous_agent", "expected_agents")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_AGENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    query: str
    previous_agent: str
    expected_agents: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, query: _Optional[str] = ..., previous_agent: _Optional[str] = ..., expected_agents: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluateRoutingRequest(_message.Message):
    __slots__ = ("cases", "max_misses")
    CASES_FIELD_NUMBER: _ClassVar[int]
    MAX_MISSES_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[RoutingCase]
    max_misses: int
    def __init__(self, cases: _Optional[_Iterable[_Union[RoutingCase, _Mapping]]] = ..., max_misses: _Optional[int] = ...) -> None: ...

class RoutingMiss(_message.Message):
    __slots__ = ("case", "decision")
    CASE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    case: RoutingCase
    decision: _routing_pb2.RoutingDecision
    def __init__(self, case: _Optional[_Union[RoutingCase, _Mapping]] = ..., decision: _Optional[_Union[_routing_pb2.RoutingDecision, _Mapping]] = ...) -> None: ...

class EvaluateRoutingResponse(_message.Message):
    __slots__ = ("case_count", "exact_accuracy", "recall_at_1", "recall_at_3", "recall_at_10", "abstention_precision", "abstention_recall", "out_of_scope_count", "miss_count", "misses")
    CASE_COUNT_FIELD_NUMBER: _ClassVar[int]
    EXACT_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_1_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_3_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_10_FIELD_NUMBER: _ClassVar[int]
    ABSTENTION_PRECISION_FIELD_NUMBER: _ClassVar[int]
    ABSTENTION_RECALL_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_SCOPE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MISS_COUNT_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    case_count: int
    exact_accuracy: float
    recall_at_1: float
    recall_at_3: float
    recall_at_10: float
    abstention_precision: float
    abstention_recall: float
    out_of_scope_count: int
    miss_count: int
    misses: _containers.RepeatedCompositeFieldContainer[RoutingMiss]
    def __init__(self, case_count: _Optional[int] = ..., exact_accuracy: _Optional[float] = ..., recall_at_1: _Optional[float] = ..., recall_at_3: _Optional[float] = ..., recall_at_10: _Optional[float] = ..., abstention_precision: _Optional[float] = ..., abstention_recall: _Optional[float] = ..., out_of_scope_count: _Optional[int] = ..., miss_count: _Optional[int] = ..., misses: _Optional[_Iterable[_Union[RoutingMiss, _Mapping]]] = ...) -> None: ...

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
    __slots__ = ("query", "session_id", "user_id", "request_id")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    query: str
    session_id: str
    user_id: str
    request_id: str
    def __init__(self, query: _Optional[str] = ..., session_id: _Optional[str] = ..., user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

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

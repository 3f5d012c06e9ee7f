from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stage2(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE2_UNSPECIFIED: _ClassVar[Stage2]
    STAGE2_SKIPPED: _ClassVar[Stage2]
    STAGE2_LLM: _ClassVar[Stage2]
    STAGE2_FALLBACK: _ClassVar[Stage2]
STAGE2_UNSPECIFIED: Stage2
STAGE2_SKIPPED: Stage2
STAGE2_LLM: Stage2
STAGE2_FALLBACK: Stage2

class RoutingCandidate(_message.Message):
    __slots__ = ("agent_name", "score", "reasons", "capability_score", "lexical_score", "semantic_score")
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    LEXICAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_SCORE_FIELD_NUMBER: _ClassVar[int]
    agent_name: str
    score: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    capability_score: float
    lexical_score: float
    semantic_score: float
    def __init__(self, agent_name: _Optional[str] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ..., capability_score: _Optional[float] = ..., lexical_score: _Optional[float] = ..., semantic_score: _Optional[float] = ...) -> None: ...

class RoutingDecision(_message.Message):
    __slots__ = ("candidates", "selected_agents", "stage2", "stage2_reason", "analysis", "session_id", "abstained", "clauses")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SELECTED_AGENTS_FIELD_NUMBER: _ClassVar[int]
    STAGE2_FIELD_NUMBER: _ClassVar[int]
    STAGE2_REASON_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ABSTAINED_FIELD_NUMBER: _ClassVar[int]
    CLAUSES_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[RoutingCandidate]
    selected_agents: _containers.RepeatedScalarFieldContainer[str]
    stage2: Stage2
    stage2_reason: str
    analysis: str
    session_id: str
    abstained: bool
    clauses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, candidates: _Optional[_Iterable[_Union[RoutingCandidate, _Mapping]]] = ..., selected_agents: _Optional[_Iterable[str]] = ..., stage2: _Optional[_Union[Stage2, str]] = ..., stage2_reason: _Optional[str] = ..., analysis: _Optional[str] = ..., session_id: _Optional[str] = ..., abstained: _Optional[bool] = ..., clauses: _Optional[_Iterable[str]] = ...) -> None: ...

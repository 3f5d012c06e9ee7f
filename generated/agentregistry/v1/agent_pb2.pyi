import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATE_UNSPECIFIED: _ClassVar[AgentState]
    AGENT_STATE_AVAILABLE: _ClassVar[AgentState]
    AGENT_STATE_UNAVAILABLE: _ClassVar[AgentState]
AGENT_STATE_UNSPECIFIED: AgentState
AGENT_STATE_AVAILABLE: AgentState
AGENT_STATE_UNAVAILABLE: AgentState

class Agent(_message.Message):
    __slots__ = ("name", "description", "factory", "a2a", "capabilities", "tags", "enabled", "state", "state_message", "etag", "create_time", "update_time", "lease_ttl", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FACTORY_FIELD_NUMBER: _ClassVar[int]
    A2A_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEASE_TTL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    factory: AgentFactory
    a2a: A2AEndpoint
    capabilities: AgentCapabilities
    tags: _containers.RepeatedScalarFieldContainer[str]
    enabled: bool
    state: AgentState
    state_message: str
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    lease_ttl: _duration_pb2.Duration
    revision: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., factory: _Optional[_Union[AgentFactory, _Mapping]] = ..., a2a: _Optional[_Union[A2AEndpoint, _Mapping]] = ..., capabilities: _Optional[_Union[AgentCapabilities, _Mapping]] = ..., tags: _Optional[_Iterable[str]] = ..., enabled: _Optional[bool] = ..., state: _Optional[_Union[AgentState, str]] = ..., state_message: _Optional[str] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lease_ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class AgentFactory(_message.Message):
    __slots__ = ("module", "function", "kwargs")
    MODULE_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    KWARGS_FIELD_NUMBER: _ClassVar[int]
    module: str
    function: str
    kwargs: _struct_pb2.Struct
    def __init__(self, module: _Optional[str] = ..., function: _Optional[str] = ..., kwargs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class A2AEndpoint(_message.Message):
    __slots__ = ("url", "headers", "card")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    url: str
    headers: _containers.ScalarMap[str, str]
    card: A2AAgentCard
    def __init__(self, url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., card: _Optional[_Union[A2AAgentCard, _Mapping]] = ...) -> None: ...

class A2AAgentCard(_message.Message):
    __slots__ = ("name", "description", "streaming", "skills", "interface_url")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    INTERFACE_URL_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    streaming: bool
    skills: _containers.RepeatedCompositeFieldContainer[A2ASkill]
    interface_url: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., streaming: _Optional[bool] = ..., skills: _Optional[_Iterable[_Union[A2ASkill, _Mapping]]] = ..., interface_url: _Optional[str] = ...) -> None: ...

class A2ASkill(_message.Message):
    __slots__ = ("id", "name", "description", "tags", "examples")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

class AgentCapabilities(_message.Message):
    __slots__ = ("domains", "operations", "entities", "keywords", "priority", "examples")
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    domains: _containers.RepeatedScalarFieldContainer[str]
    operations: _containers.RepeatedScalarFieldContainer[str]
    entities: _containers.RepeatedScalarFieldContainer[str]
    keywords: _containers.RepeatedScalarFieldContainer[str]
    priority: int
    examples: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, domains: _Optional[_Iterable[str]] = ..., operations: _Optional[_Iterable[str]] = ..., entities: _Optional[_Iterable[str]] = ..., keywords: _Optional[_Iterable[str]] = ..., priority: _Optional[int] = ..., examples: _Optional[_Iterable[str]] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATUS_UNSPECIFIED: _ClassVar[AgentStatus]
    AGENT_STATUS_HEALTHY: _ClassVar[AgentStatus]
    AGENT_STATUS_UNHEALTHY: _ClassVar[AgentStatus]
AGENT_STATUS_UNSPECIFIED: AgentStatus
AGENT_STATUS_HEALTHY: AgentStatus
AGENT_STATUS_UNHEALTHY: AgentStatus

class Capability(_message.Message):
    __slots__ = ("task_type", "proficiency")
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROFICIENCY_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    proficiency: float
    def __init__(self, task_type: _Optional[str] = ..., proficiency: _Optional[float] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "role", "capabilities", "preferred_provider", "preferred_model", "max_concurrency", "status", "current_load", "runtime_id", "last_heartbeat", "registered_at", "allowed_tools", "workspace_id", "system_prompt")
    ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_LOAD_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_TOOLS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    id: str
    role: str
    capabilities: _containers.RepeatedCompositeFieldContainer[Capability]
    preferred_provider: str
    preferred_model: str
    max_concurrency: int
    status: AgentStatus
    current_load: int
    runtime_id: str
    last_heartbeat: _timestamp_pb2.Timestamp
    registered_at: _timestamp_pb2.Timestamp
    allowed_tools: _containers.RepeatedScalarFieldContainer[str]
    workspace_id: str
    system_prompt: str
    def __init__(self, id: _Optional[str] = ..., role: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, _Mapping]]] = ..., preferred_provider: _Optional[str] = ..., preferred_model: _Optional[str] = ..., max_concurrency: _Optional[int] = ..., status: _Optional[_Union[AgentStatus, str]] = ..., current_load: _Optional[int] = ..., runtime_id: _Optional[str] = ..., last_heartbeat: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., allowed_tools: _Optional[_Iterable[str]] = ..., workspace_id: _Optional[str] = ..., system_prompt: _Optional[str] = ...) -> None: ...

class AgentHeartbeat(_message.Message):
    __slots__ = ("agent_id", "runtime_id", "current_load", "at")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_LOAD_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    runtime_id: str
    current_load: int
    at: _timestamp_pb2.Timestamp
    def __init__(self, agent_id: _Optional[str] = ..., runtime_id: _Optional[str] = ..., current_load: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentsChanged(_message.Message):
    __slots__ = ("kind", "agent", "at")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[AgentsChanged.Kind]
        KIND_REGISTERED: _ClassVar[AgentsChanged.Kind]
        KIND_UPDATED: _ClassVar[AgentsChanged.Kind]
        KIND_UNHEALTHY: _ClassVar[AgentsChanged.Kind]
        KIND_REMOVED: _ClassVar[AgentsChanged.Kind]
    KIND_UNSPECIFIED: AgentsChanged.Kind
    KIND_REGISTERED: AgentsChanged.Kind
    KIND_UPDATED: AgentsChanged.Kind
    KIND_UNHEALTHY: AgentsChanged.Kind
    KIND_REMOVED: AgentsChanged.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    kind: AgentsChanged.Kind
    agent: Agent
    at: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[AgentsChanged.Kind, str]] = ..., agent: _Optional[_Union[Agent, _Mapping]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: Agent
    def __init__(self, agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class DeregisterRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class DeregisterResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("heartbeat",)
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    heartbeat: AgentHeartbeat
    def __init__(self, heartbeat: _Optional[_Union[AgentHeartbeat, _Mapping]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: AgentStatus
    def __init__(self, status: _Optional[_Union[AgentStatus, str]] = ...) -> None: ...

class GetAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("role", "capability", "status", "page_size", "page_token", "workspace_id")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    role: str
    capability: str
    status: AgentStatus
    page_size: int
    page_token: str
    workspace_id: str
    def __init__(self, role: _Optional[str] = ..., capability: _Optional[str] = ..., status: _Optional[_Union[AgentStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

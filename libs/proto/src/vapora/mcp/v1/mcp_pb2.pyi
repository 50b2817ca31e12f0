import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tool(_message.Message):
    __slots__ = ("server", "name", "description", "input_schema_json", "available")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INPUT_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    server: str
    name: str
    description: str
    input_schema_json: str
    available: bool
    def __init__(self, server: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., input_schema_json: _Optional[str] = ..., available: _Optional[bool] = ...) -> None: ...

class ListToolsRequest(_message.Message):
    __slots__ = ("server", "workspace_id", "agent_id")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    server: str
    workspace_id: str
    agent_id: str
    def __init__(self, server: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ...) -> None: ...

class ListToolsResponse(_message.Message):
    __slots__ = ("tools",)
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    def __init__(self, tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ...) -> None: ...

class CallToolRequest(_message.Message):
    __slots__ = ("server", "tool", "arguments_json", "workspace_id", "agent_id", "task_id")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    server: str
    tool: str
    arguments_json: str
    workspace_id: str
    agent_id: str
    task_id: str
    def __init__(self, server: _Optional[str] = ..., tool: _Optional[str] = ..., arguments_json: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class CallToolResponse(_message.Message):
    __slots__ = ("is_error", "text", "structured_json", "latency_ms", "truncated")
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STRUCTURED_JSON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    is_error: bool
    text: str
    structured_json: str
    latency_ms: int
    truncated: bool
    def __init__(self, is_error: _Optional[bool] = ..., text: _Optional[str] = ..., structured_json: _Optional[str] = ..., latency_ms: _Optional[int] = ..., truncated: _Optional[bool] = ...) -> None: ...

class ListCatalogueRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CatalogueServer(_message.Message):
    __slots__ = ("name", "scope", "tools_known")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TOOLS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    name: str
    scope: str
    tools_known: bool
    def __init__(self, name: _Optional[str] = ..., scope: _Optional[str] = ..., tools_known: _Optional[bool] = ...) -> None: ...

class ListCatalogueResponse(_message.Message):
    __slots__ = ("tools", "servers")
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    servers: _containers.RepeatedCompositeFieldContainer[CatalogueServer]
    def __init__(self, tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., servers: _Optional[_Iterable[_Union[CatalogueServer, _Mapping]]] = ...) -> None: ...

class McpCall(_message.Message):
    __slots__ = ("server", "tool", "workspace_id", "agent_id", "task_id", "is_error", "latency_ms", "at", "id", "outcome", "via", "error", "job_id")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    server: str
    tool: str
    workspace_id: str
    agent_id: str
    task_id: str
    is_error: bool
    latency_ms: int
    at: _timestamp_pb2.Timestamp
    id: str
    outcome: str
    via: str
    error: str
    job_id: str
    def __init__(self, server: _Optional[str] = ..., tool: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_id: _Optional[str] = ..., is_error: _Optional[bool] = ..., latency_ms: _Optional[int] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., id: _Optional[str] = ..., outcome: _Optional[str] = ..., via: _Optional[str] = ..., error: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class ListCallsRequest(_message.Message):
    __slots__ = ("workspace_id", "server", "agent_id", "task_id", "limit")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    server: str
    agent_id: str
    task_id: str
    limit: int
    def __init__(self, workspace_id: _Optional[str] = ..., server: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListCallsResponse(_message.Message):
    __slots__ = ("calls",)
    CALLS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[McpCall]
    def __init__(self, calls: _Optional[_Iterable[_Union[McpCall, _Mapping]]] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ToolDefinition(_message.Message):
    __slots__ = ("name", "description", "parameters_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters_json: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters_json: _Optional[str] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("id", "name", "arguments_json", "error", "provider_data")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arguments_json: str
    error: str
    provider_data: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arguments_json: _Optional[str] = ..., error: _Optional[str] = ..., provider_data: _Optional[str] = ...) -> None: ...

class ToolResult(_message.Message):
    __slots__ = ("tool_call_id", "name", "content", "is_error")
    TOOL_CALL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    tool_call_id: str
    name: str
    content: str
    is_error: bool
    def __init__(self, tool_call_id: _Optional[str] = ..., name: _Optional[str] = ..., content: _Optional[str] = ..., is_error: _Optional[bool] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("role", "content", "tool_calls", "tool_results")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    role: str
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    tool_results: _containers.RepeatedCompositeFieldContainer[ToolResult]
    def __init__(self, role: _Optional[str] = ..., content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., tool_results: _Optional[_Iterable[_Union[ToolResult, _Mapping]]] = ...) -> None: ...

class CompleteRequest(_message.Message):
    __slots__ = ("request_id", "workspace_id", "task_id", "agent_id", "role", "task_type", "complexity", "system", "messages", "provider_override", "model_override", "max_tokens", "temperature", "preferred_provider", "preferred_model", "tools", "task_cost_cap_cents", "task_token_cap")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPLEXITY_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    MODEL_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_MODEL_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TASK_COST_CAP_CENTS_FIELD_NUMBER: _ClassVar[int]
    TASK_TOKEN_CAP_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    workspace_id: str
    task_id: str
    agent_id: str
    role: str
    task_type: str
    complexity: str
    system: str
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    provider_override: str
    model_override: str
    max_tokens: int
    temperature: float
    preferred_provider: str
    preferred_model: str
    tools: _containers.RepeatedCompositeFieldContainer[ToolDefinition]
    task_cost_cap_cents: float
    task_token_cap: int
    def __init__(self, request_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., role: _Optional[str] = ..., task_type: _Optional[str] = ..., complexity: _Optional[str] = ..., system: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., provider_override: _Optional[str] = ..., model_override: _Optional[str] = ..., max_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., preferred_provider: _Optional[str] = ..., preferred_model: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[ToolDefinition, _Mapping]]] = ..., task_cost_cap_cents: _Optional[float] = ..., task_token_cap: _Optional[int] = ...) -> None: ...

class RoutingDecision(_message.Message):
    __slots__ = ("provider", "model", "reasons", "fallback_chain", "estimated_cost_cents")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_CHAIN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    fallback_chain: _containers.RepeatedScalarFieldContainer[str]
    estimated_cost_cents: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., fallback_chain: _Optional[_Iterable[str]] = ..., estimated_cost_cents: _Optional[float] = ...) -> None: ...

class CompleteResponse(_message.Message):
    __slots__ = ("text", "provider", "model", "input_tokens", "output_tokens", "cost_cents", "latency_ms", "finish_reason", "decision", "failed_providers", "tool_calls", "unverified")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    FAILED_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    UNVERIFIED_FIELD_NUMBER: _ClassVar[int]
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    latency_ms: int
    finish_reason: str
    decision: RoutingDecision
    failed_providers: _containers.RepeatedScalarFieldContainer[str]
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    unverified: bool
    def __init__(self, text: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ..., latency_ms: _Optional[int] = ..., finish_reason: _Optional[str] = ..., decision: _Optional[_Union[RoutingDecision, _Mapping]] = ..., failed_providers: _Optional[_Iterable[str]] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., unverified: _Optional[bool] = ...) -> None: ...

class StreamCompleteResponse(_message.Message):
    __slots__ = ("delta", "final")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    delta: str
    final: CompleteResponse
    def __init__(self, delta: _Optional[str] = ..., final: _Optional[_Union[CompleteResponse, _Mapping]] = ...) -> None: ...

class BudgetWindow(_message.Message):
    __slots__ = ("window", "limit_cents", "spent_cents", "reserved_cents", "utilization", "resets_at")
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    LIMIT_CENTS_FIELD_NUMBER: _ClassVar[int]
    SPENT_CENTS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_CENTS_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    RESETS_AT_FIELD_NUMBER: _ClassVar[int]
    window: str
    limit_cents: float
    spent_cents: float
    reserved_cents: float
    utilization: float
    resets_at: _timestamp_pb2.Timestamp
    def __init__(self, window: _Optional[str] = ..., limit_cents: _Optional[float] = ..., spent_cents: _Optional[float] = ..., reserved_cents: _Optional[float] = ..., utilization: _Optional[float] = ..., resets_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BudgetStatus(_message.Message):
    __slots__ = ("role", "windows", "state")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    WINDOWS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    role: str
    windows: _containers.RepeatedCompositeFieldContainer[BudgetWindow]
    state: str
    def __init__(self, role: _Optional[str] = ..., windows: _Optional[_Iterable[_Union[BudgetWindow, _Mapping]]] = ..., state: _Optional[str] = ...) -> None: ...

class GetBudgetStatusRequest(_message.Message):
    __slots__ = ("role",)
    ROLE_FIELD_NUMBER: _ClassVar[int]
    role: str
    def __init__(self, role: _Optional[str] = ...) -> None: ...

class GetBudgetStatusResponse(_message.Message):
    __slots__ = ("budgets",)
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[BudgetStatus]
    def __init__(self, budgets: _Optional[_Iterable[_Union[BudgetStatus, _Mapping]]] = ...) -> None: ...

class GetSpendRequest(_message.Message):
    __slots__ = ("workspace_id", "since")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, workspace_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Spend(_message.Message):
    __slots__ = ("provider", "model", "calls", "input_tokens", "output_tokens", "cost_cents")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_cents: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., calls: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ...) -> None: ...

class GetSpendResponse(_message.Message):
    __slots__ = ("spend",)
    SPEND_FIELD_NUMBER: _ClassVar[int]
    spend: _containers.RepeatedCompositeFieldContainer[Spend]
    def __init__(self, spend: _Optional[_Iterable[_Union[Spend, _Mapping]]] = ...) -> None: ...

class LlmUsage(_message.Message):
    __slots__ = ("request_id", "workspace_id", "task_id", "agent_id", "role", "task_type", "provider", "model", "input_tokens", "output_tokens", "cost_cents", "success", "latency_ms", "fallback", "at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    workspace_id: str
    task_id: str
    agent_id: str
    role: str
    task_type: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    success: bool
    latency_ms: int
    fallback: bool
    at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., role: _Optional[str] = ..., task_type: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ..., success: _Optional[bool] = ..., latency_ms: _Optional[int] = ..., fallback: _Optional[bool] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

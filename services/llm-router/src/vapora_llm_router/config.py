"""router.toml, budget.toml and prices.toml: parsed and validated into typed config.

A file that does not parse or validate raises :class:`ConfigError` naming the file and
the field; a missing file means the built-in defaults (everything to the offline provider).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import ConfigError

PROVIDERS = ("offline", "ollama", "gemini", "openai", "anthropic")
DEFAULT_CHAIN = ("ollama", "gemini", "openai", "anthropic")
# A task's complexity as the API accepts it (empty: not given). A rule on any other value could
# never match, so the file is refused instead (tests/contract keeps the two lists equal).
COMPLEXITIES = ("low", "medium", "high")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_provider(value: str) -> str:
    if value not in PROVIDERS:
        raise ValueError(f"unknown provider {value!r}; known: {', '.join(PROVIDERS)}")
    return value


class ProviderConfig(_Strict):
    model: str
    quality: float = Field(default=0.5, ge=0, le=1)
    enabled: bool = True


class Rule(_Strict):
    name: str = ""
    task_types: tuple[str, ...] = ()
    complexity: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    provider: str
    model: str = ""

    _provider = field_validator("provider")(_check_provider)

    @field_validator("complexity")
    @classmethod
    def _complexity(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for level in value:
            if level not in COMPLEXITIES:
                rule = f"rule {info.data['name']!r}" if info.data.get("name") else "this rule"
                raise ValueError(
                    f"{rule} matches complexity {level!r}, which no task has: "
                    f"a task's complexity is one of {', '.join(COMPLEXITIES)}"
                )
        return value

    def matches(self, task_type: str, complexity: str, role: str) -> bool:
        return (
            (not self.task_types or task_type in self.task_types)
            and (not self.complexity or complexity in self.complexity)
            and (not self.roles or role in self.roles)
        )

    def describe(self, index: int) -> str:
        conds = [
            f"{k}={'|'.join(v)}"
            for k, v in (("task_type", self.task_types), ("complexity", self.complexity), ("role", self.roles))
            if v
        ]
        return f"rule {self.name or index} ({', '.join(conds) or 'always'})"


class RetryConfig(_Strict):
    attempts: int = Field(default=2, ge=1, le=10)
    backoff_s: float = Field(default=0.05, ge=0, le=30)


class BreakerConfig(_Strict):
    failure_threshold: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=30.0, gt=0)


class Default(_Strict):
    """``provider = "auto"`` ranks the available providers by cost/quality score."""

    provider: str = "auto"
    model: str = ""

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        return value if value == "auto" else _check_provider(value)


class Price(_Strict):
    input_usd_per_mtok: float = Field(ge=0)
    output_usd_per_mtok: float = Field(ge=0)

    @property
    def input_cents_per_token(self) -> float:
        return self.input_usd_per_mtok / 10_000  # 100 cents a dollar, 1e6 tokens a Mtok

    @property
    def output_cents_per_token(self) -> float:
        return self.output_usd_per_mtok / 10_000

    def cost_cents(self, input_tokens: int, output_tokens: int) -> float:
        return input_tokens * self.input_cents_per_token + output_tokens * self.output_cents_per_token


def _default_providers() -> dict[str, ProviderConfig]:
    return {
        "anthropic": ProviderConfig(model="claude-sonnet-4-5", quality=0.95),
        "openai": ProviderConfig(model="gpt-4o", quality=0.9),
        "gemini": ProviderConfig(model="gemini-2.0-flash", quality=0.8),
        "ollama": ProviderConfig(model="llama3.1", quality=0.6),
        "offline": ProviderConfig(model="offline-deterministic", quality=0.1),
    }


class RouterConfig(_Strict):
    default: Default = Default()
    fallback_chain: tuple[str, ...] = DEFAULT_CHAIN
    providers: dict[str, ProviderConfig] = Field(default_factory=_default_providers)
    rules: tuple[Rule, ...] = ()
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    prices: dict[str, Price] = Field(default_factory=dict)
    default_max_tokens: int = Field(default=1024, ge=1)

    @field_validator("fallback_chain")
    @classmethod
    def _chain(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            _check_provider(name)
        if "offline" in value:
            raise ValueError("offline is the last resort, not part of the fallback chain")
        return value

    @field_validator("providers")
    @classmethod
    def _providers(cls, value: dict[str, ProviderConfig]) -> dict[str, ProviderConfig]:
        for name in value:
            _check_provider(name)
        merged = _default_providers()
        merged.update(value)
        return merged


class RoleBudget(_Strict):
    monthly_cents: float | None = Field(default=None, ge=0)
    weekly_cents: float | None = Field(default=None, ge=0)


class BudgetConfig(_Strict):
    near_limit: float = Field(default=0.8, gt=0, le=1)
    roles: dict[str, RoleBudget] = Field(default_factory=dict)
    # A task's spend (for its caps) is forgotten this long after its last call; at most as long as
    # the budget-tasks bucket keeps a key after its last write.
    task_forget_after_s: float = Field(default=86400.0, gt=0, le=BUCKETS.BUDGET_TASKS.ttl_s)


class PriceTable(_Strict):
    models: dict[str, Price] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the router decides with; replaced as a whole on reload."""

    router: RouterConfig
    budget: BudgetConfig
    prices: dict[str, Price]

    def price(self, model: str) -> Price | None:
        return self.prices.get(model)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from exc


Kind = Literal["router", "budget", "prices"]
_MODELS: dict[Kind, type[_Strict]] = {"router": RouterConfig, "budget": BudgetConfig, "prices": PriceTable}


def parse(kind: Kind, path: Path) -> Any:
    """Parse and validate one file; :class:`ConfigError` names the file and the field."""
    data = _read(path)
    try:
        return _MODELS[kind].model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(root)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{first['msg']}{more}", source=str(path), field=field) from exc


def load(router_file: Path, budget_file: Path, prices_file: Path) -> Config:
    router: RouterConfig = parse("router", router_file)
    budget: BudgetConfig = parse("budget", budget_file)
    table: PriceTable = parse("prices", prices_file)
    prices = dict(table.models)
    prices.update(router.prices)
    return Config(router=router, budget=budget, prices=prices)

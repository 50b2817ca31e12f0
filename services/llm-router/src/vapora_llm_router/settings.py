"""Settings of the llm-router (env prefix ``VAPORA_``).

API keys come from ``VAPORA_<PROVIDER>_API_KEY`` or, when that is empty, from the file
``VAPORA_SECRETS_DIR/<provider>`` (a mounted Kubernetes Secret). They are ``SecretStr``
and never logged. A provider with no key is unavailable; Ollama needs a base URL instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from vapora_core.settings import ServiceSettings

KEYED_PROVIDERS = ("anthropic", "openai", "gemini")


class RouterSettings(ServiceSettings):
    service_name: str = "llm-router"
    grpc_port: int = 50053
    metrics_port: int = 9103
    config_dir: Path = Field(default=Path("config"), description="Holds router.toml, budget.toml, prices.toml.")
    prices_file: Path | None = Field(default=None, description="A price table that replaces config/prices.toml.")
    secrets_dir: Path | None = Field(default=None, description="Directory of key files named after providers.")
    anthropic_api_key: SecretStr = SecretStr("")
    openai_api_key: SecretStr = SecretStr("")
    gemini_api_key: SecretStr = SecretStr("")
    ollama_api_key: SecretStr = SecretStr("")
    anthropic_base_url: str = "https://api.anthropic.com"
    openai_base_url: str = "https://api.openai.com"
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    ollama_base_url: str = Field(default="", description="Ollama server, e.g. http://127.0.0.1:11434; empty: off.")
    provider_timeout_s: float = Field(default=60.0, description="Read timeout of one provider call.")
    reload_interval_s: float = Field(default=1.0, description="How often config files are checked for changes.")
    usage_flush_s: float = Field(default=0.2, description="How often settled usage is written to the ledger.")
    reservation_ttl_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How long a reservation outlives its replica: renewed every third of it while its call runs,"
            " freed this long after a replica dies."
        ),
    )
    settlement_linger_s: float = Field(
        default=0.005,
        ge=0,
        le=1.0,
        description=(
            "How long a call's settlement may wait, after its answer went back, to be written with the"
            " next change of its role's (or task's) budget key; a router killed meanwhile loses it."
        ),
    )

    @property
    def router_file(self) -> Path:
        return self.config_dir / "router.toml"

    @property
    def budget_file(self) -> Path:
        return self.config_dir / "budget.toml"

    @property
    def resolved_prices_file(self) -> Path:
        return self.prices_file or self.config_dir / "prices.toml"

    def api_key(self, provider: str) -> str:
        """The provider's key from settings, else from ``secrets_dir/<provider>``; "" when none."""
        secret: SecretStr | None = getattr(self, f"{provider}_api_key", None)
        value = secret.get_secret_value() if secret is not None else ""
        if value:
            return value.strip()
        if self.secrets_dir is not None:
            path = self.secrets_dir / provider
            if path.is_file():
                return path.read_text(encoding="utf-8").strip()
        return ""

    def base_url(self, provider: str) -> str:
        return str(getattr(self, f"{provider}_base_url", ""))

"""Provider adapters: Anthropic, OpenAI, Gemini, Ollama over aiohttp, and the offline provider."""

from __future__ import annotations

from collections.abc import Callable

from vapora_llm_router.providers.anthropic import AnthropicProvider
from vapora_llm_router.providers.base import Provider
from vapora_llm_router.providers.gemini import GeminiProvider
from vapora_llm_router.providers.http import HttpOptions
from vapora_llm_router.providers.offline import OfflineProvider
from vapora_llm_router.providers.ollama import OllamaProvider
from vapora_llm_router.providers.openai import OpenAIProvider
from vapora_llm_router.settings import KEYED_PROVIDERS, RouterSettings

_HTTP: dict[str, Callable[[HttpOptions], Provider]] = {
    "anthropic": AnthropicProvider,
    "openai": OpenAIProvider,
    "gemini": GeminiProvider,
    "ollama": OllamaProvider,
}


def build_providers(settings: RouterSettings) -> tuple[dict[str, Provider], dict[str, str]]:
    """The configured providers, and for every other one why it is unavailable."""
    providers: dict[str, Provider] = {"offline": OfflineProvider()}
    unavailable: dict[str, str] = {}
    for name, cls in _HTTP.items():
        key = settings.api_key(name)
        base = settings.base_url(name)
        if name in KEYED_PROVIDERS and not key:
            unavailable[name] = (
                f"no API key for {name} (set VAPORA_{name.upper()}_API_KEY or a secrets file named {name})"
            )
            continue
        if not base:
            unavailable[name] = f"no base URL for {name} (set VAPORA_{name.upper()}_BASE_URL)"
            continue
        options = HttpOptions(base_url=base, api_key=key, timeout_s=settings.provider_timeout_s)
        providers[name] = cls(options)
    return providers, unavailable


__all__ = ["Provider", "build_providers"]

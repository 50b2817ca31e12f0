"""Each adapter against a local server speaking the provider's real wire format."""

from __future__ import annotations

import pytest

from vapora_core.errors import DeadlineExceeded, Internal, InvalidArgument, Unavailable
from vapora_llm_router.providers.anthropic import AnthropicProvider
from vapora_llm_router.providers.base import ChatTurn, ProviderAuthError, ProviderRequest
from vapora_llm_router.providers.gemini import GeminiProvider
from vapora_llm_router.providers.http import HttpOptions
from vapora_llm_router.providers.offline import OfflineProvider
from vapora_llm_router.providers.ollama import OllamaProvider
from vapora_llm_router.providers.openai import OpenAIProvider
from vapora_testing.fake_providers import KEY, TEXT, FakeProviders

ADAPTERS = {
    "anthropic": (AnthropicProvider, "claude-sonnet-4-5"),
    "openai": (OpenAIProvider, "gpt-4o"),
    "gemini": (GeminiProvider, "gemini-2.0-flash"),
    "ollama": (OllamaProvider, "llama3.1"),
}
NAMES = list(ADAPTERS)


def request(model: str) -> ProviderRequest:
    return ProviderRequest(
        model=model,
        system="You are terse.",
        messages=(ChatTurn("user", "Say hello"),),
        max_tokens=64,
        temperature=0.2,
    )


def adapter(name: str, url: str, *, key: str = KEY, timeout: float = 1.0):  # type: ignore[no-untyped-def]
    cls, model = ADAPTERS[name]
    return cls(HttpOptions(base_url=url, api_key=key, timeout_s=timeout)), model


@pytest.mark.parametrize("name", NAMES)
async def test_complete_returns_text_and_token_usage(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url)
    try:
        result = await provider.complete(request(model))
    finally:
        await provider.aclose()
    assert result.text == "".join(TEXT)
    assert (result.input_tokens, result.output_tokens) == (10, 5)
    assert result.finish_reason
    body = fake.bodies[name][0]
    assert "You are terse." in str(body)
    assert "Say hello" in str(body)


@pytest.mark.parametrize("name", NAMES)
async def test_stream_yields_deltas_then_usage(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url)
    deltas, finals = [], []
    try:
        async for ev in provider.stream(request(model)):
            if ev.final is not None:
                finals.append(ev.final)
            else:
                deltas.append(ev.delta)
    finally:
        await provider.aclose()
    assert deltas == TEXT
    assert len(finals) == 1
    assert finals[0].text == "".join(TEXT)
    assert (finals[0].input_tokens, finals[0].output_tokens) == (10, 5)


@pytest.mark.parametrize("name", NAMES)
async def test_calls_reuse_one_connection(fake: FakeProviders, name: str) -> None:
    """A stream read to its end hands its connection back: the next call needs no new one."""
    provider, model = adapter(name, fake.url)
    try:
        for _ in range(3):
            finals = [ev.final async for ev in provider.stream(request(model)) if ev.final is not None]
            assert len(finals) == 1
            assert (await provider.complete(request(model))).text == "".join(TEXT)
    finally:
        await provider.aclose()
    assert len(fake.peers[name]) == 6
    assert len(set(fake.peers[name])) == 1, fake.peers[name]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("mode", "error", "retryable"),
    [
        ("429", Unavailable, True),
        ("500", Unavailable, True),
        ("400", InvalidArgument, False),
        ("malformed", Internal, False),
    ],
)
async def test_http_failures_map_to_errors_that_say_if_retry_helps(
    fake: FakeProviders, name: str, mode: str, error: type[Exception], retryable: bool
) -> None:
    provider, model = adapter(name, fake.url)
    fake.script[name] = [mode, mode]
    try:
        with pytest.raises(error) as info:
            await provider.complete(request(model))
        assert info.value.retryable is retryable  # type: ignore[attr-defined]
        assert name in str(info.value)
        with pytest.raises(error):
            async for _ in provider.stream(request(model)):
                pass
    finally:
        await provider.aclose()


@pytest.mark.parametrize("name", NAMES)
async def test_timeout_is_a_retryable_deadline_error(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url, timeout=0.2)
    fake.script[name] = ["slow"]
    try:
        with pytest.raises(DeadlineExceeded, match="timed out") as info:
            await provider.complete(request(model))
        assert info.value.retryable
    finally:
        await provider.aclose()


@pytest.mark.parametrize("name", ["anthropic", "openai", "gemini"])
async def test_a_rejected_key_is_an_auth_error_and_the_key_is_not_in_it(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url, key="sk-wrong-secret")
    try:
        with pytest.raises(ProviderAuthError) as info:
            await provider.complete(request(model))
    finally:
        await provider.aclose()
    assert not info.value.retryable
    assert "sk-wrong-secret" not in str(info.value)


@pytest.mark.parametrize("name", NAMES)
async def test_a_malformed_stream_chunk_is_a_clear_internal_error(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url)
    fake.script[name] = ["stream_malformed"]
    try:
        with pytest.raises(Internal, match="malformed"):
            async for _ in provider.stream(request(model)):
                pass
    finally:
        await provider.aclose()


async def test_connection_refused_is_retryable() -> None:
    provider, model = adapter("openai", "http://127.0.0.1:9")
    try:
        with pytest.raises(Unavailable) as info:
            await provider.complete(request(model))
    finally:
        await provider.aclose()
    assert info.value.retryable


@pytest.mark.parametrize("name", ["anthropic", "ollama"])
async def test_an_error_event_mid_stream_is_retryable(fake: FakeProviders, name: str) -> None:
    provider, model = adapter(name, fake.url)
    fake.script[name] = ["stream_error"]
    try:
        with pytest.raises(Unavailable):
            async for _ in provider.stream(request(model)):
                pass
    finally:
        await provider.aclose()


async def test_offline_is_deterministic_and_counts_words() -> None:
    p = OfflineProvider()
    req = ProviderRequest(
        model="offline-deterministic",
        system="sys",
        messages=(ChatTurn("user", "design a cache"),),
        max_tokens=0,
        temperature=0,
    )
    a, b = await p.complete(req), await p.complete(req)
    assert a == b
    assert "design a cache" in a.text
    assert a.input_tokens == 4
    assert a.output_tokens == len(a.text.split())
    other = await p.complete(
        ProviderRequest(model="m", system="", messages=(ChatTurn("user", "x"),), max_tokens=0, temperature=0)
    )
    assert other.text != a.text
    streamed = [ev async for ev in p.stream(req)]
    assert "".join(ev.delta for ev in streamed if ev.final is None) == a.text

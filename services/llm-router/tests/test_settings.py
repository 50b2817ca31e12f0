"""Keys come from settings, env or secret files, and never show up in reprs or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from vapora_llm_router.providers import build_providers
from vapora_llm_router.settings import RouterSettings


def test_keys_come_from_env_or_secret_files_and_are_not_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "gemini").write_text("gm-secret-from-file\n")
    monkeypatch.setenv("VAPORA_OPENAI_API_KEY", "sk-secret-from-env")
    monkeypatch.setenv("VAPORA_SECRETS_DIR", str(secrets))
    caplog.set_level(logging.DEBUG)
    settings = RouterSettings()
    assert settings.api_key("openai") == "sk-secret-from-env"
    assert settings.api_key("gemini") == "gm-secret-from-file"
    assert settings.api_key("anthropic") == ""
    providers, unavailable = build_providers(settings)
    assert {"offline", "openai", "gemini"} <= set(providers)
    assert "VAPORA_ANTHROPIC_API_KEY" in unavailable["anthropic"]
    assert "ollama" in unavailable
    printed = repr(settings) + str(settings.model_dump()) + caplog.text
    assert "sk-secret-from-env" not in printed and "gm-secret-from-file" not in printed

"""Hot reload: budget changes apply without a restart; a broken file is refused, the old config serves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vapora_core.errors import ConfigError
from vapora_llm_router.config import load, parse
from vapora_llm_router.reload import ConfigWatcher
from vapora_llm_router.service import RouterService
from vapora_testing.polling import eventually


def touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # mtime moves even on coarse clocks


def watcher_for(svc: RouterService, config_dir: Path, interval: float = 0.05) -> ConfigWatcher:
    files = (config_dir / "router.toml", config_dir / "budget.toml", config_dir / "prices.toml")
    return ConfigWatcher(files, svc.apply_config, interval=interval)


async def test_a_budget_change_takes_effect_without_restart(make_service, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
    svc, _ = make_service()
    watcher = watcher_for(svc, config_dir)
    watcher.load()
    watcher.start()
    try:
        assert svc.budget_status("developer")[0].windows == ()
        touch_later(config_dir / "budget.toml", "[roles.developer]\nweekly_cents = 500\n")
        await eventually(
            lambda: bool(svc.budget_status("developer")[0].windows),
            timeout=5.0,
            interval=0.02,
            what="the developer's budget windows",
        )
        assert svc.budget_status("developer")[0].windows[0].limit_cents == 500
        touch_later(config_dir / "budget.toml", "[roles.developer]\nweekly_cents = 0\n")
        await eventually(
            lambda: svc.budget_status("developer")[0].state == "exhausted",
            timeout=5.0,
            interval=0.02,
            what="the developer's budget exhausted",
        )
    finally:
        await watcher.stop()


async def test_a_broken_toml_is_refused_and_the_old_config_keeps_serving(  # type: ignore[no-untyped-def]
    make_service, config_dir: Path
) -> None:
    svc, _ = make_service()
    touch_later(config_dir / "budget.toml", "[roles.developer]\nweekly_cents = 500\n")
    watcher = watcher_for(svc, config_dir)
    svc.apply_config(watcher.load())
    before = svc.config
    watcher.start()
    try:
        touch_later(config_dir / "budget.toml", "[roles.developer\nweekly_cents = = 1\n")
        await eventually(
            lambda: watcher.last_error is not None,
            timeout=5.0,
            interval=0.02,
            what="the watcher to report the bad file",
        )
        assert "budget.toml" in str(watcher.last_error) and "TOML" in str(watcher.last_error)
        assert svc.config is before
        assert svc.budget_status("developer")[0].windows[0].limit_cents == 500
        # a file that parses but does not validate names the field
        touch_later(config_dir / "budget.toml", "[roles.developer]\nweekly_cents = -3\n")
        await eventually(
            lambda: watcher.last_error is not None and "weekly_cents" in str(watcher.last_error),
            timeout=5.0,
            interval=0.02,
            what="the watcher to name weekly_cents",
        )
        assert "roles.developer.weekly_cents" in str(watcher.last_error)
        assert svc.config is before
        # and a fixed file is picked up again
        touch_later(config_dir / "budget.toml", "[roles.developer]\nweekly_cents = 700\n")
        await eventually(lambda: svc.config is not before, timeout=5.0, interval=0.02, what="the new config loaded")
        assert svc.budget_status("developer")[0].windows[0].limit_cents == 700
        assert watcher.last_error is None
    finally:
        await watcher.stop()


def test_router_toml_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "router.toml"
    bad.write_text('fallback_chain = ["ollama", "skynet"]\n')
    with pytest.raises(ConfigError, match=r"router.toml: fallback_chain.*skynet"):
        parse("router", bad)
    bad.write_text('[[rules]]\ntask_types = ["coding"]\nprovider = "openai"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=r"rules.0.colour"):
        parse("router", bad)


def test_a_task_cannot_be_remembered_longer_than_its_bucket_keeps_it(tmp_path: Path) -> None:
    bad = tmp_path / "budget.toml"
    bad.write_text("task_forget_after_s = 864000\n")  # 10 days; budget-tasks keeps a key 8
    with pytest.raises(ConfigError, match=r"budget.toml: task_forget_after_s.*691200"):
        parse("budget", bad)


def test_a_rule_on_a_complexity_no_task_has_is_refused_naming_file_and_rule(tmp_path: Path) -> None:
    bad = tmp_path / "router.toml"
    bad.write_text('[[rules]]\nname = "hard-to-claude"\ncomplexity = ["high", "critical"]\nprovider = "anthropic"\n')
    with pytest.raises(ConfigError) as info:
        parse("router", bad)
    assert info.value.source == str(bad) and info.value.field == "rules.0.complexity"
    assert "rule 'hard-to-claude' matches complexity 'critical', which no task has" in str(info.value)
    assert "low, medium, high" in str(info.value)
    bad.write_text('[[rules]]\ncomplexity = ["hard"]\nprovider = "openai"\n')
    with pytest.raises(ConfigError, match=r"rules.0.complexity.*this rule matches complexity 'hard'"):
        parse("router", bad)


def test_the_repository_config_files_are_valid() -> None:
    root = Path(__file__).resolve().parents[3] / "config"
    config = load(root / "router.toml", root / "budget.toml", root / "prices.toml")
    assert config.router.fallback_chain == ("ollama", "gemini", "openai", "anthropic")
    assert config.budget.roles["developer"].monthly_cents
    assert config.price("claude-sonnet-4-5") is not None

"""The repository root is found by walking up to the workspace pyproject.toml, not by counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from vapora_testing.fleet import Fleet
from vapora_testing.repo import NotInRepository, repo_root, run_dir

WORKSPACE = '[project]\nname = "x"\n\n[tool.uv.workspace]\nmembers = ["libs/*"]\n'
MEMBER = '[project]\nname = "member"\n'


def make_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "libs" / "member" / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text(WORKSPACE)
    (root / "libs" / "member" / "pyproject.toml").write_text(MEMBER)
    return root


def test_the_root_is_found_from_any_folder_below_it_past_member_projects(tmp_path: Path) -> None:
    root = make_repo(tmp_path)
    assert repo_root(root) == root
    assert repo_root(root / "libs" / "member" / "src") == root  # the member's pyproject.toml is not it


def test_the_current_directory_is_where_the_walk_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path)
    monkeypatch.delenv("VAPORA_ROOT", raising=False)
    monkeypatch.chdir(root / "libs" / "member")
    assert repo_root() == root


def test_vapora_root_overrides_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VAPORA_ROOT", str(root / "libs"))
    assert repo_root() == root


def test_outside_a_repository_the_error_names_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(MEMBER)  # a project, but no workspace
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "pyproject.toml").write_text("[tool.uv.workspace\n")  # not TOML
    monkeypatch.delenv("VAPORA_ROOT", raising=False)
    with pytest.raises(NotInRepository, match=r"no Vapora repository at or above .*broken.*VAPORA_ROOT") as info:
        repo_root(tmp_path / "broken")
    assert info.value.start == (tmp_path / "broken").resolve()


def test_this_checkout_is_found_and_is_where_config_lives() -> None:
    root = repo_root(Path(__file__).parent)
    assert (root / "config" / "router.toml").is_file()


def test_the_run_dir_is_vapora_run_dir_else_dot_run_in_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path)
    monkeypatch.setenv("VAPORA_ROOT", str(root))
    monkeypatch.delenv("VAPORA_RUN_DIR", raising=False)
    assert run_dir() == root / ".run"
    monkeypatch.setenv("VAPORA_RUN_DIR", str(tmp_path / "elsewhere"))
    assert run_dir() == tmp_path / "elsewhere"


def test_the_launchers_config_dir_comes_from_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path)
    monkeypatch.setenv("VAPORA_ROOT", str(root))
    assert Fleet(tmp_path / "run").config_dir == root / "config"
    monkeypatch.setenv("VAPORA_ROOT", str(tmp_path))
    with pytest.raises(NotInRepository):
        Fleet(tmp_path / "run")

"""The tests' git helpers, on real git: a committed repository, and git's output and errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vapora_testing.git import git, make_repo


def test_make_repo_commits_every_file_on_main_as_the_test_author(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "kept.txt").write_text("there before\n")
    root = make_repo(tmp_path / "repo", {"src/calc.py": "def add(a, b):\n    return a + b\n"}, "calc")

    assert root == (tmp_path / "repo").resolve()
    assert git(root, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(root, "log", "--format=%an <%ae> %s") == "Vapora Test <test@vapora.dev> calc"
    assert git(root, "ls-files").splitlines() == ["kept.txt", "src/calc.py"]
    assert git(root, "status", "--porcelain") == ""
    assert (root / "src" / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"


def test_make_repo_makes_a_root_that_is_not_there(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "a" / "b", {"README.md": "# x\n"})
    assert git(root, "log", "--format=%s") == "initial commit"


def test_a_failing_git_command_raises_with_its_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    with pytest.raises(subprocess.CalledProcessError) as failed:
        git(root, "rev-parse", "no-such-branch")
    assert "no-such-branch" in failed.value.stderr

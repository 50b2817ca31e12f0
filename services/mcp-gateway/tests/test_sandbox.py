"""The workspace server's sandbox: paths stay inside the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vapora_mcp_gateway.servers.sandbox import Sandbox, SandboxError


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "root"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("import os\nVALUE = 42\n")
    (root / "notes.txt").write_text("remember VALUE\n")
    (root / "blob.bin").write_bytes(b"\x00\x01VALUE")
    (tmp_path / "outside.txt").write_text("secret")
    return Sandbox(root, max_read_bytes=1000)


@pytest.mark.parametrize("path", ["../outside.txt", "pkg/../../outside.txt", "/etc/passwd"])
def test_paths_escaping_the_root_are_refused(sandbox: Sandbox, path: str) -> None:
    with pytest.raises(SandboxError, match=r"escapes the workspace root|is absolute"):
        sandbox.read_file(path)


def test_a_symlink_out_of_the_root_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside.txt", sandbox.root / "link.txt")
    with pytest.raises(SandboxError, match="escapes the workspace root"):
        sandbox.read_file("link.txt")
    assert "link.txt" not in sandbox.list_files()


def test_list_read_and_search(sandbox: Sandbox) -> None:
    assert sandbox.list_files() == ["blob.bin", "notes.txt", "pkg/mod.py"]
    assert sandbox.list_files(".", "*.py") == ["pkg/mod.py"]
    assert sandbox.read_file("pkg/mod.py").endswith("VALUE = 42\n")
    found = sandbox.search_text("VALUE")
    assert [(m.path, m.line) for m in found] == [("notes.txt", 1), ("pkg/mod.py", 2)]  # binary skipped


def test_reading_refuses_binary_large_and_missing_files(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="binary"):
        sandbox.read_file("blob.bin")
    (sandbox.root / "big.txt").write_text("x" * 2000)
    with pytest.raises(SandboxError, match="more than the limit"):
        sandbox.read_file("big.txt")
    with pytest.raises(SandboxError, match="not a file"):
        sandbox.read_file("nope.txt")


def test_notes_are_written_under_notes_with_safe_names(sandbox: Sandbox) -> None:
    assert sandbox.write_note("plan", "# Plan\n") == "notes/plan.md"
    assert (sandbox.root / "notes" / "plan.md").read_text() == "# Plan\n"
    for bad in ["../evil", "a/b", "", ".hidden"]:
        with pytest.raises(SandboxError, match="not allowed"):
            sandbox.write_note(bad, "x")

"""Libraries import no service, and services import no other service (CONVENTIONS: layout).

Found by walking the AST of every module under ``libs/*/src`` and ``services/*/src``: an
``import vapora_<service>`` or ``from vapora_<service>… import`` anywhere, at module level or
inside a function, counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"vapora_" + p.name.replace("-", "_"): p for p in sorted((ROOT / "services").iterdir()) if p.is_dir()}


def imported_packages(source: str) -> set[str]:
    """The top-level package of every absolute import in ``source``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def service_imports(src: Path, allowed: set[str]) -> dict[str, set[str]]:
    """Per module under ``src``: the service packages it imports, other than ``allowed``."""
    offending: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        services = (imported_packages(path.read_text()) & SERVICES.keys()) - allowed
        if services:
            offending[str(path.relative_to(ROOT))] = services
    return offending


def test_the_import_walk_sees_imports_at_module_level_and_inside_functions() -> None:
    source = "import os\nfrom vapora_llm_router.app import RouterApp\ndef f():\n    import vapora_knowledge_graph.app\n"
    assert imported_packages(source) == {"os", "vapora_llm_router", "vapora_knowledge_graph"}
    assert imported_packages("from . import sibling\nfrom .x import y\n") == set()


def test_the_services_are_found() -> None:
    assert {"vapora_api_gateway", "vapora_knowledge_graph", "vapora_swarm_coordinator"} <= SERVICES.keys()


def test_no_library_imports_a_service() -> None:
    libraries = sorted((ROOT / "libs").glob("*/src"))
    assert libraries, "no libs/*/src found"
    offending = {k: v for src in libraries for k, v in service_imports(src, set()).items()}
    assert not offending, f"libraries importing services: {offending}"


def test_no_service_imports_another_service() -> None:
    offending = {k: v for name, path in SERVICES.items() for k, v in service_imports(path / "src", {name}).items()}
    assert not offending, f"services importing other services: {offending}"

"""The one Dockerfile (``services/Dockerfile``), built for each service with skaffold.yaml's build
arguments and replayed without Docker: the build stage's uv commands run into a temporary venv,
then that venv's python imports every module of the service. A dependency missing from a
service's pyproject.toml fails here, as it would in the image; so does a wrong build argument."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from deploy_support import ROOT, SERVICES, by_kind, kustomize, skaffold_configs
from dockerfile_replay import DockerIgnore, parse, replay_build, runtime_env, stage_variables

DOCKERFILE = ROOT / "services" / "Dockerfile"


def build_args(service: str) -> dict[str, str]:
    """The build arguments skaffold.yaml gives the service's artifact."""
    app = skaffold_configs()[-1]
    artifact = next(a for a in app["build"]["artifacts"] if a["image"] == f"vapora-{service}")
    assert artifact["docker"]["dockerfile"] == "services/Dockerfile"
    return {k: str(v) for k, v in artifact["docker"]["buildArgs"].items()}


IMPORT_ALL = textwrap.dedent(
    """
    import importlib, importlib.util, pkgutil, sys
    module = sys.argv[1]
    package = importlib.import_module(module)
    assert importlib.util.find_spec(module + ".__main__") is not None, module + " has no __main__"
    names = [m.name for m in pkgutil.walk_packages(package.__path__, module + ".") if not m.name.endswith("__main__")]
    for name in names:
        importlib.import_module(name)
    for lib in (package, importlib.import_module("vapora_core"), importlib.import_module("vapora.common.v1.common_pb2")):
        assert sys.prefix in lib.__file__, f"{lib.__name__} imported from {lib.__file__}, not from the venv"
    for absent in ("vapora_testing", "pytest", "mypy"):
        assert importlib.util.find_spec(absent) is None, absent + " must not be in the image"
    print(len(names) + 1)
    """
)


def build_and_import(service: str, workdir: Path) -> str:
    replay = replay_build(DOCKERFILE, ROOT, workdir, build_args=build_args(service))
    assert replay.entry_module == "vapora_" + service.replace("-", "_")
    assert any(f"--package vapora-{service}" in c and "--no-dev" in c for c in replay.commands)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(workdir)}
    proc = subprocess.run(
        [str(replay.venv / "bin" / "python"), "-c", IMPORT_ALL, replay.entry_module],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{service}: importing from the image's venv failed:\n{proc.stderr}"
    return proc.stdout.strip()


def test_every_service_installs_from_its_dockerfile_and_imports(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {s: pool.submit(build_and_import, s, tmp_path / s) for s in SERVICES}
    errors = []
    for service, future in futures.items():
        try:
            future.result()
        except Exception as exc:
            errors.append(f"{service}: {exc}")
    assert not errors, "\n\n".join(errors)


def test_a_missing_dependency_fails_the_replay(tmp_path: Path) -> None:
    """The check can fail: a service importing a package its pyproject does not declare."""
    context = tmp_path / "context"
    for item in (
        "pyproject.toml",
        "uv.lock",
        ".dockerignore",
        "config",
        "services/Dockerfile",
        "libs/proto",
        "libs/core",
        "services/agent-registry",
    ):
        src = ROOT / item
        dest = context / item
        if src.is_dir():
            shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read_bytes())
    pkg = context / "services/agent-registry/src/vapora_agent_registry"
    (pkg / "needs_undeclared.py").write_text(
        "import kubernetes_validate  # a dev tool, not a dependency of vapora-agent-registry\n"
    )
    replay = replay_build(
        context / "services/Dockerfile", context, tmp_path / "work", build_args=build_args("agent-registry")
    )
    proc = subprocess.run(
        [str(replay.venv / "bin" / "python"), "-c", IMPORT_ALL, replay.entry_module],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert proc.returncode != 0
    assert "No module named 'kubernetes_validate'" in proc.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_runtime_stage_runs_the_service_module_as_non_root(service: str) -> None:
    ops = dict(parse(DOCKERFILE)[-1].instructions)
    assert ops["USER"] == "10001:10001"
    assert json.loads(ops["ENTRYPOINT"]) == ["/bin/sh", "-c", 'exec python -m "$VAPORA_SERVICE_MODULE"']
    env = runtime_env(DOCKERFILE, build_args(service))
    assert env["VAPORA_SERVICE_MODULE"] == "vapora_" + service.replace("-", "_")
    assert env["VAPORA_SERVICE_NAME"] == service
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["VAPORA_CONFIG_DIR"] == "/app/config"


def test_each_image_exposes_the_ports_its_deployment_declares() -> None:
    objects = kustomize("prod/apps")
    for service in SERVICES:
        workload = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}[service]
        containers = workload["spec"]["template"]["spec"]["containers"]
        declared = {p["containerPort"] for c in containers for p in c.get("ports", [])}
        stages = parse(DOCKERFILE)
        args = stage_variables(stages, stages[-1], build_args(service))
        assert {int(p) for p in args["PORTS"].split()} == declared, service


def test_a_build_without_the_service_arguments_stops_at_once(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="build with --build-arg SERVICE"):
        replay_build(DOCKERFILE, ROOT, tmp_path)


def test_dockerignore_keeps_sources_and_drops_local_state() -> None:
    ignore = DockerIgnore(ROOT / ".dockerignore")
    assert not ignore.ignored("libs/core/src/vapora_core/bus/bus.py")
    assert not ignore.ignored("uv.lock")
    assert not ignore.ignored("config/agents/x.toml")
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "libs/core/src/vapora_core/__pycache__/x.pyc",
        "services/llm-router/tests/test_x.py",
        ".data/kg/x",
        "k8s/base/kustomization.yaml",
    ):
        assert ignore.ignored(path), path

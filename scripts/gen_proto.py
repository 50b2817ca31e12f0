"""Generate Python code from proto/ into libs/proto/src (or check it is current).

Usage: python scripts/gen_proto.py [--check]
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
OUT = ROOT / "libs" / "proto" / "src"


def generate(out: Path) -> None:
    files = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    bin_dir = Path(sys.executable).parent
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
        f"--mypy_grpc_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for d in [out / "vapora", *[p for p in (out / "vapora").rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()
    (out / "vapora" / "py.typed").touch()


def tree(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def main() -> int:
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            want, have = tree(Path(tmp)), tree(OUT)
            stale = sorted(
                name
                for name in want.keys() | have.keys()
                if name not in want or name not in have or not filecmp.cmp(want[name], have[name], shallow=False)
            )
            if stale:
                print("generated protobuf code is stale; run `just proto`:", *stale, sep="\n  ")
                return 1
            print("generated protobuf code is current")
            return 0
    # Generate aside, then replace changed files one by one, so processes importing
    # the package while this runs never see it missing.
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        want, have = tree(Path(tmp)), tree(OUT)
        for name, src in want.items():
            dst = OUT / name
            if name not in have or not filecmp.cmp(src, dst, shallow=False):
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst.with_suffix(dst.suffix + ".tmp"))
                dst.with_suffix(dst.suffix + ".tmp").replace(dst)
        for name in have.keys() - want.keys():
            (OUT / name).unlink()
    print(f"generated {len(want)} files into {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The web UI's files: our own (``static/``) and the front-end packages' (``vendor/``).

The vendor files come from npm packages pinned in ``services/api-gateway/web/package-lock.json``;
``just setup`` runs ``npm ci`` there and then ``python -m vapora_api_gateway.ui.assets install``,
which copies exactly the files of :data:`VENDOR` into ``vendor/`` (so the wheel, and the image,
carry them; nothing is fetched at run time). The gateway serves only files it found here at start.

    python -m vapora_api_gateway.ui.assets install [NODE_MODULES]   # copy the vendor files
    python -m vapora_api_gateway.ui.assets check                    # exit 1 if one is missing
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
VENDOR_DIR = HERE / "vendor"
NODE_MODULES = HERE.parents[2] / "web" / "node_modules"  # services/api-gateway/web/node_modules

# served name (under /ui/vendor/) -> file inside node_modules
VENDOR: dict[str, str] = {
    "preact.mjs": "preact/dist/preact.mjs",
    "preact-hooks.mjs": "preact/hooks/dist/hooks.mjs",
    "htm.mjs": "htm/dist/htm.mjs",
    "uPlot.esm.js": "uplot/dist/uPlot.esm.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "diff2html-ui-slim.min.js": "diff2html/bundles/js/diff2html-ui-slim.min.js",
    "diff2html.min.css": "diff2html/bundles/css/diff2html.min.css",
    "highlight-github.min.css": "highlight.js/styles/github.min.css",
}

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _asset(path: Path) -> Asset:
    body = path.read_bytes()
    return Asset(
        body, CONTENT_TYPES.get(path.suffix, "application/octet-stream"), hashlib.sha256(body).hexdigest()[:20]
    )


def scan(root: Path) -> dict[str, Asset]:
    """Every file under ``root`` by its path relative to it: the only names that can be served."""
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): _asset(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in CONTENT_TYPES
    }


def missing_vendor(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    return [name for name in VENDOR if not (vendor_dir / name).is_file()]


def install(node_modules: Path = NODE_MODULES, vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Copy :data:`VENDOR`'s files from ``node_modules``; the names copied."""
    absent = [src for src in VENDOR.values() if not (node_modules / src).is_file()]
    if absent:
        raise FileNotFoundError(f"not in {node_modules} (run npm ci there): {', '.join(absent)}")
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    vendor_dir.mkdir(parents=True)
    for name, src in VENDOR.items():
        shutil.copyfile(node_modules / src, vendor_dir / name)
    return list(VENDOR)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "install":
        copied = install(Path(argv[1]) if len(argv) > 1 else NODE_MODULES)
        print(f"web UI: {len(copied)} vendor files in {VENDOR_DIR}")
        return 0
    if command == "check":
        absent = missing_vendor()
        if absent:
            print(f"web UI vendor files missing (just setup installs them): {', '.join(absent)}", file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Copy the chart library and the upload client from node_modules (installed by `npm ci`) into our own
static files, so the page is served with no CDN and works with no internet.

    python -m frontend.vendor
"""

from __future__ import annotations

import gzip
import shutil
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "frontend" / "vendor"
FILES = {
    "node_modules/echarts/dist/echarts.esm.min.mjs": "echarts.esm.min.mjs",
    "node_modules/echarts/LICENSE": "echarts.LICENSE.txt",
    # The upload page's resumable upload client (tus 1.0); a classic script that defines window.tus.
    "node_modules/tus-js-client/dist/tus.min.js": "tus.min.js",
    "node_modules/tus-js-client/LICENSE": "tus-js-client.LICENSE.txt",
}


def main() -> int:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    for source, target in FILES.items():
        path = BASE_DIR / source
        if not path.exists():
            print(f"{source} is missing: run `npm ci` first", file=sys.stderr)
            return 1
        shutil.copyfile(path, VENDOR_DIR / target)
        if target.endswith((".mjs", ".js")):
            # WhiteNoise serves a .gz sibling to browsers that accept gzip, even straight from the app
            # folders (WHITENOISE_USE_FINDERS): a third of the bytes for the 1.1 MB chart library.
            (VENDOR_DIR / f"{target}.gz").write_bytes(gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    print(f"vendored {len(FILES)} files into {VENDOR_DIR.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

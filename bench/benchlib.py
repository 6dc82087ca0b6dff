"""What the benchmarks share: Django set up for a local run, and the CSV to load.

Imported by the scripts in this folder (`python bench/x.py` puts bench/ on sys.path)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")  # a local benchmark: the development key is fine
    import django

    django.setup()


def pick_file(argument: str | None, workdir: Path) -> Path:
    """The file named, else /tmp/train.csv, else TRAIN_CSV_PATH, else a 913,000-row sample generated in `workdir`."""
    from django.conf import settings

    if argument:
        return Path(argument)
    for candidate in (Path("/tmp/train.csv"), settings.TRAIN_CSV_PATH):
        if candidate.exists():
            return candidate
    from sales.sample import sample_generate

    path = workdir / "train.csv"
    print(f"no train.csv found: generating a 913,000-row sample in {path}")
    sample_generate(path=path)
    return path

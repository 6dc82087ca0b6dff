"""Worker processes for `manage.py forecast --workers N` (the in-process refit).

Spawned, not forked. A forked child inherits the parent's open sockets and
kombu's after-fork hooks; closing an inherited Redis channel that was waiting
on BRPOP blocks the child forever (seen in the test suite, after the same
process had talked to Celery). A spawned child starts clean. It is told which
database to use, because the parent's may not be the one the environment names
(pytest-django's test database, for one).

This module imports nothing from Django at import time: a spawned child
unpickles these functions before Django is set up.
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_init(database_name: str) -> None:
    # One BLAS/OpenMP thread per process: the processes are the parallelism.
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    # Before the first connection is opened, so every query goes to the parent's database.
    settings.DATABASES["default"]["NAME"] = database_name


def chunk_fit(run_id: int, keys: list[list]) -> int:
    from forecasting.services import forecast_chunk_fit

    return forecast_chunk_fit(run_id=run_id, keys=keys)

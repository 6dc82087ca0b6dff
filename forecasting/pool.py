"""Worker processes for `manage.py forecast --workers N` (the in-process refit).

Spawned, not forked. A forked child inherits the parent's open sockets and
kombu's after-fork hooks; closing an inherited Redis channel that was waiting
on BRPOP blocks the child forever (seen in the test suite, after the same
process had talked to Celery). A spawned child starts clean. It is told which
database to use, because the parent's may not be the one the environment names
(pytest-django's test database, for one).

This module imports nothing from Django at import time (a spawned child
unpickles these functions before Django is set up), and nothing from the
services that use it: the function a child runs is named by its dotted path,
so services -> pool is the only direction.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

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


def call(target: str, kwargs: dict):
    """Run `target` ("package.module.function") with keyword arguments, in a child."""
    module, name = target.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(**kwargs)


def pool_map(
    *, target: str, jobs: list[dict], workers: int, database_name: str, done: Callable[[dict], None] | None = None
) -> None:
    """Call `target(**job)` for every job in `workers` spawned processes; `done(job)` after each one.
    The first failure is raised (the pool is shut down on the way out)."""
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=worker_init, initargs=(database_name,)
    ) as executor:
        futures = {executor.submit(call, target, job): job for job in jobs}
        for future in as_completed(futures):
            future.result()
            if done is not None:
                done(futures[future])

"""Periodic work: each app declares its own schedules once, in code, and registers them here (in its
AppConfig.ready); `manage.py install_schedules` (run by `manage.py bootstrap`, which `make run` and the
compose `setup` service call, and by the tests) installs them into django-celery-beat's database
scheduler (core.services.schedules_install).

An app registers a function taking no arguments that returns its schedules, name -> Schedule. It is
called at install time, so a schedule may read settings (the tick's interval).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.registry import Registry


@dataclass(frozen=True)
class Crontab:
    """A time of day in TIME_ZONE, every day."""

    minute: str
    hour: str


@dataclass(frozen=True)
class Schedule:
    """Run `task` (its Celery name) with `kwargs` every `every_seconds`, or at `crontab`: exactly one of them."""

    task: str
    every_seconds: int | None = None
    crontab: Crontab | None = None
    kwargs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.every_seconds is None) == (self.crontab is None):
            raise ValueError(f"schedule of {self.task}: give every_seconds or crontab, not both or neither")


PERIODIC_SCHEDULES: Registry[Callable[[], dict[str, Schedule]]] = Registry("periodic schedules")


def periodic_schedules() -> dict[str, Schedule]:
    """Every app's schedules, name -> Schedule, in INSTALLED_APPS order."""
    schedules: dict[str, Schedule] = {}
    for _app, declared in PERIODIC_SCHEDULES.items():
        schedules |= declared()
    return schedules

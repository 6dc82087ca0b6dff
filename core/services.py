"""Setting up an installation: the periodic schedules."""

from __future__ import annotations

import json

from django.conf import settings

from core.schedules import periodic_schedules


def schedules_install() -> list[str]:
    """Create or update the django-celery-beat entries the apps declare (core.schedules). Returns their names."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    installed = []
    for name, spec in periodic_schedules().items():
        defaults: dict = {"task": spec.task, "enabled": True, "kwargs": json.dumps(spec.kwargs)}
        if spec.every_seconds is not None:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=spec.every_seconds, period=IntervalSchedule.SECONDS
            )
            defaults |= {"interval": interval, "crontab": None}
        else:
            assert spec.crontab is not None  # Schedule requires one of the two
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=spec.crontab.minute,
                hour=spec.crontab.hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=settings.TIME_ZONE,
            )
            defaults |= {"crontab": crontab, "interval": None}
        PeriodicTask.objects.update_or_create(name=name, defaults=defaults)
        installed.append(name)
    return installed


def user_in_group_ensure(*, username: str, group: str, password: str | None = None):
    """The user `username` (created if missing) in `group` (one of core.access.GROUPS); the password is
    set when given, otherwise a new user gets an unusable one (it logs in by token only)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, created = get_user_model().objects.get_or_create(username=username)
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def access_token_create(*, user, expires_days: int | None = None) -> str:
    """A new API token of `user`, valid for `expires_days` days (None: until revoked). Returns the key: it is
    stored only as a digest (core.models.ApiToken), so this is the one time anyone sees it."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from core.models import ApiToken
    from core.selectors import token_digest

    key = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=expires_days) if expires_days is not None else None
    ApiToken.objects.create(user=user, digest=token_digest(key), prefix=key[:8], expires=expires)
    return key


def access_token_revoke(*, username: str, prefix: str | None = None) -> int:
    """Delete the tokens of `username` (only the one whose key starts with `prefix`, if given); how many."""
    from core.models import ApiToken

    tokens = ApiToken.objects.filter(user__username=username)
    if prefix:
        tokens = tokens.filter(prefix=prefix[:8])
    deleted, _ = tokens.delete()
    return deleted

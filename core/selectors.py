"""Reads of core: the user behind an API token."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Q
from django.utils import timezone

from core.models import ApiToken


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def access_token_user(*, key: str) -> Any | None:
    """The active user whose unexpired token `key` is, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(Q(expires__isnull=True) | Q(expires__gt=timezone.now()), digest=token_digest(key))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token.user

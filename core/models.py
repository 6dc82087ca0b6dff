"""API tokens, stored as digests: the key itself is shown once, when it is made, and kept nowhere."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A script's credential (`Authorization: Token <key>`). Only the key's SHA-256 is stored: a key is 256
    random bits, so a fast hash is as safe as a slow one, and the lookup is one indexed equality."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex")
    prefix = models.CharField(max_length=8, help_text="the key's first characters, to tell tokens apart")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="empty: never")

    class Meta:
        ordering = ["user_id", "created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

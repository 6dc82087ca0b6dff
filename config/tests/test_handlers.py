"""The stream's handler takes async-only middleware: a dual-mode one would bring back a thread per stream."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.handlers import AsyncOnlyASGIHandler


def test_a_dual_mode_middleware_is_refused_by_name():
    with pytest.raises(
        ImproperlyConfigured, match=re.escape("django.middleware.common.CommonMiddleware is not async-only")
    ):
        AsyncOnlyASGIHandler(middleware=["django.middleware.common.CommonMiddleware"])


def test_the_configured_stream_chain_is_async_only(settings):
    handler = AsyncOnlyASGIHandler(middleware=settings.STREAM_MIDDLEWARE)
    assert handler._middleware_chain is not None

"""The one way a lower layer calls code of a layer built on it without importing it.

An app above registers an entry (in its AppConfig.ready) in a `Registry` that the lower module owns:
core's health checks, periodic schedules and request body caps, sales's gap filler and today's forecast. Entries are
kept in registration order (INSTALLED_APPS order); registering a name again replaces its entry.

An entry is the object itself or its dotted path. A path is imported when the entry is used, so an
entry that cannot be imported fails where it is used (a health check reports it as down) rather
than at start-up, and an app's ready() stays free of imports of its own heavy modules.

Why a registry and not a signal: these are questions with an answer (is the stream healthy? what
does the forecast say for today?), asked of a known provider. Announcements that any app may react to
(a history was loaded) are signals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (`what` names the kind in error messages)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | str) -> None:
        """Add `entry` (the object or its dotted path) under `name`, replacing an entry of that name."""
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Remove the entry registered under `name`, if any."""
        self._entries.pop(name, None)

    def entries(self) -> dict[str, T | str]:
        """Every entry as registered (paths not imported), in registration order."""
        return dict(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def resolve(self, name: str) -> T:
        """The entry registered under `name`, imported when it was registered as a path. KeyError when
        there is none; ImportError when its path does not import."""
        entry = self._entries[name]
        return import_string(entry) if isinstance(entry, str) else entry

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, entry) for every entry, each imported as it is reached."""
        for name in self.names():
            yield name, self.resolve(name)

    def one(self) -> T | None:
        """The single entry of a registry that holds one provider (None when no app registered one)."""
        if len(self._entries) > 1:
            raise ImproperlyConfigured(f"more than one {self.what} registered: {', '.join(self._entries)}")
        return self.resolve(next(iter(self._entries))) if self._entries else None

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

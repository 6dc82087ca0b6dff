"""The calendar of a wide file: which date each day column (`d_1`..) stands for, and the day's events."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sales.loading import MAX_LISTED_PROBLEMS, LoadError, LoadProblem, _show
from sales.reading.layouts import DAY_COLUMN, M5_EVENTS
from sales.reading.sources import source_open
from sales.reading.tables import header_read

MAX_CALENDAR_ROWS = 100_000


@dataclass(frozen=True)
class Calendar:
    """`dates`: day column (lower case) -> ISO date; `events`: day column -> its M5_EVENTS fields."""

    dates: dict[str, str]
    events: dict[str, tuple[str, ...]]


def calendar_read(*, path: Path, problem_limit: int = MAX_LISTED_PROBLEMS) -> Calendar:
    """Read a calendar file with (at least) `date` and `d` columns. LoadError naming the line of a bad
    date, a day column name that is not d_N, a day given twice, or a missing column (the first
    `problem_limit` of them, and how many)."""
    with source_open(path=path, kind="calendar") as opened:
        header = header_read(path=path, opened=opened)
        lower = [n.lower() for n in header]
        missing = [n for n in ("date", "d") if n not in lower]
        if missing or opened.stream is None:
            message = f"a calendar needs the columns date and d (missing {', '.join(missing) or 'text'})"
            raise LoadError(path=path, problems=[LoadProblem(1, None, _show(",".join(header), 80), message)])
        at = {name: lower.index(name) for name in ("date", "d", *(e for e in M5_EVENTS if e in lower))}
        text = io.TextIOWrapper(opened.stream, encoding="utf-8", newline="")
        dates: dict[str, str] = {}
        events: dict[str, tuple[str, ...]] = {}
        problems: list[LoadProblem] = []
        for line, fields in enumerate(csv.reader(text), start=2):
            if line > MAX_CALENDAR_ROWS:
                raise LoadError(path=path, problems=[LoadProblem(line, None, None, "too many rows for a calendar")])
            problem = _row_problem(line=line, fields=fields, at=at, dates=dates)
            if problem is not None:
                problems.append(problem)
                continue
            day = fields[at["d"]].strip().lower()
            dates[day] = fields[at["date"]]
            events[day] = tuple(fields[at[e]] if e in at else "" for e in M5_EVENTS)
        if problems:
            raise LoadError(path=path, problems=problems[:problem_limit], total=len(problems))
        return Calendar(dates=dates, events=events)


def _row_problem(*, line: int, fields: list[str], at: dict[str, int], dates: dict[str, str]) -> LoadProblem | None:
    if len(fields) <= max(at.values()):
        return LoadProblem(line, None, _show(",".join(fields)), "has too few fields")
    day, text = fields[at["d"]].strip().lower(), fields[at["date"]]
    if not DAY_COLUMN.fullmatch(day):
        return LoadProblem(line, "d", _show(day), "is not a day column name (d_1, d_2, ...)")
    if day in dates:
        return LoadProblem(line, "d", _show(day), "appears twice")
    try:
        if len(text) != 10:
            raise ValueError
        date.fromisoformat(text)
    except ValueError:
        return LoadProblem(line, "date", _show(text), "is not an ISO date (YYYY-MM-DD)")
    return None

"""Progress reporting for long work, without tying engines to a terminal library.

Engines take a ``Reporter``; the CLI passes one that draws rich progress bars, tests and
the API pass nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: float | None = None) -> Task: ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        return None


class NullReporter:
    """Reports nothing."""

    def task(self, description: str, total: float | None = None) -> Task:
        return _NullTask()


NULL = NullReporter()


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._id, amount)


class RichReporter:
    """Draws one rich progress bar per task."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def task(self, description: str, total: float | None = None) -> Task:
        return _RichTask(self._progress, self._progress.add_task(description, total=total))


@contextmanager
def rich_reporter() -> Iterator[RichReporter]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as progress:
        yield RichReporter(progress)

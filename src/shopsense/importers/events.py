"""``shopsense import events FILE.jsonl``: contract events through the API's own validation
and store, in batches, so a file and the HTTP API give the same rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from shopsense.clock import now
from shopsense.db.session import Database
from shopsense.importers.summary import ImportSummary
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings
from shopsense.tracking.service import track_events

BATCH = 1000


def _lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; bad JSON parses to an error."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield number, _BadJson(str(exc))


class _BadJson:
    def __init__(self, message: str) -> None:
        self.message = message


def import_events(
    db: Database, path: Path, *, settings: Settings, reporter: Reporter = NULL
) -> ImportSummary:
    """Import a JSON-lines file; rejected lines are reported with their line numbers."""
    started = time.perf_counter()
    summary = ImportSummary()
    task = reporter.task(f"events from {path.name}", total=path.stat().st_size)
    lines = _lines(path)
    while chunk := list(islice(lines, BATCH)):
        numbers = [n for n, obj in chunk if not isinstance(obj, _BadJson)]
        events = [obj for _, obj in chunk if not isinstance(obj, _BadJson)]
        for n, obj in chunk:
            if isinstance(obj, _BadJson):
                summary.rejected.append(
                    {"line": n, "errors": [{"loc": [], "msg": obj.message, "type": "json"}]}
                )
        result = track_events(db, events, settings=settings, received_at=now())
        summary.add("events", result.accepted)
        summary.add("duplicates", result.duplicates)
        summary.rejected.extend(
            {"line": numbers[r["index"]], "errors": r["errors"]} for r in result.rejected
        )
        task.advance(sum(len(orjson.dumps(obj)) + 1 for obj in events))
    summary.seconds = time.perf_counter() - started
    return summary

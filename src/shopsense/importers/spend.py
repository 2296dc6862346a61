"""``shopsense import spend FILE.csv``: marketing spend with columns date, channel,
campaign (optional) and amount; validated like ``POST /marketing/spend``."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from shopsense.clock import utcnow
from shopsense.db.session import Database
from shopsense.importers.summary import ImportSummary
from shopsense.marketing.spend import SpendIn, upsert_spend
from shopsense.progress import NULL, Reporter
from shopsense.validation import validate_each


def import_spend(db: Database, path: Path, *, reporter: Reporter = NULL) -> ImportSummary:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [
            {k.strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in r.items() if k}
            for r in csv.DictReader(handle)
        ]
    for row in rows:
        row.setdefault("campaign", "")
        if row["campaign"] is None:
            row["campaign"] = ""
    task = reporter.task(f"spend from {path.name}", total=len(rows))
    lines, _positions, rejected = validate_each(SpendIn, rows)
    with db.write() as conn:
        stored = upsert_spend(conn, lines, utcnow())
    task.advance(len(rows))
    summary = ImportSummary(
        counts={"spend lines": stored},
        rejected=[{"line": r["index"] + 2, "errors": r["errors"]} for r in rejected],
    )
    summary.seconds = time.perf_counter() - started
    return summary

"""Mining runs: frequent itemsets and association rules over a source of baskets, stored so
the server reads rules without mining per request (``shopsense bundles mine``)."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from sqlalchemy import Connection, delete, or_, select

from shopsense.bundles.baskets import SOURCES, lines
from shopsense.bundles.mining import association_rules, basket_matrix, frequent_itemsets
from shopsense.clock import utcnow
from shopsense.db.bulk import append_rows
from shopsense.db.models import association_rule_table as R
from shopsense.db.models import mining_run_table as M
from shopsense.db.session import Database
from shopsense.errors import ValidationFailed
from shopsense.progress import NULL, Reporter
from shopsense.settings import Settings

MIN_COUNT = 2  # a pair seen in one basket is an anecdote, not evidence
RUNS_KEPT = 3  # mining runs kept per source; older ones (and their rules) are deleted

RULE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "antecedent": pl.List(pl.String),
    "consequent": pl.String,
    "size": pl.Int64,
    "count": pl.Int64,
    "support": pl.Float64,
    "confidence": pl.Float64,
    "lift": pl.Float64,
    "conviction": pl.Float64,
}


@dataclass(frozen=True)
class MiningSummary:
    mining_id: str
    source: str
    as_of: datetime
    baskets: int
    items: int
    min_count: int
    itemsets: int
    rules: int
    seconds: float


def mine_rules(
    frame: pl.DataFrame, min_support: float, min_lift: float, max_len: int
) -> tuple[pl.DataFrame, int, int, int]:
    """Rules (``RULE_SCHEMA``, product ids) of the (basket, item) lines ``frame`` with lift at
    least ``min_lift``; the support threshold is never under ``MIN_COUNT`` baskets. Answers
    the rules, the baskets, the itemsets found and the count threshold used."""
    if frame.is_empty():
        return pl.DataFrame(schema=RULE_SCHEMA), 0, 0, MIN_COUNT
    x, names = basket_matrix(frame, "basket", "item")
    n = x.shape[0]
    min_count = max(MIN_COUNT, math.ceil(min_support * n - 1e-9))
    itemsets = frequent_itemsets(x, min(1.0, min_count / n), max_len)
    rules = association_rules(itemsets).filter(pl.col("lift") >= min_lift)
    named = rules.select(
        pl.col("antecedent").list.eval(
            pl.element().replace_strict(range(len(names)), names, return_dtype=pl.String)
        ),
        pl.col("consequent").replace_strict(range(len(names)), names, return_dtype=pl.String),
        (pl.col("antecedent").list.len() + 1).alias("size"),
        "count",
        "support",
        "confidence",
        "lift",
        pl.col("conviction").replace(float("inf"), None),
    )
    return named.cast(RULE_SCHEMA), n, itemsets.frame.height, min_count  # type: ignore[arg-type]


def mine(
    db: Database,
    settings: Settings,
    as_of: datetime | None = None,
    *,
    sources: tuple[str, ...] = SOURCES,
    reporter: Reporter = NULL,
) -> list[MiningSummary]:
    """Mine each source's baskets before ``as_of`` and store the run and its rules."""
    as_of = as_of or utcnow()
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValidationFailed(f"unknown basket source {unknown[0]!r}; known: {', '.join(SOURCES)}")
    summaries = []
    for source in sources:
        task = reporter.task(f"bundles: mine {source}", total=3)
        started = time.perf_counter()
        with db.read() as conn:
            frame = lines(conn, source, as_of)
        task.advance()
        rules, n, n_itemsets, min_count = mine_rules(
            frame, settings.bundle_min_support, settings.bundle_min_lift, settings.bundle_max_len
        )
        task.advance()
        mining_id = f"{source}-{as_of:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        n_items = frame["item"].n_unique() if n else 0
        run = {
            "mining_id": mining_id,
            "source": source,
            "mined_at": utcnow(),
            "as_of": as_of,
            "baskets": n,
            "items": n_items,
            "min_support": settings.bundle_min_support,
            "min_count": min_count,
            "min_lift": settings.bundle_min_lift,
            "max_len": settings.bundle_max_len,
            "itemsets": n_itemsets,
            "rules": rules.height,
        }
        stored = rules.select(
            pl.lit(mining_id).alias("mining_id"),
            pl.col("antecedent").list.get(0).alias("antecedent_a"),
            pl.col("antecedent").list.get(1, null_on_oob=True).alias("antecedent_b"),
            *(c for c in RULE_SCHEMA if c != "antecedent"),
        )
        with db.write() as conn:
            conn.execute(M.insert(), [run])
            append_rows(conn, R, tuple(stored.columns), stored.iter_rows())
            _prune(conn, source)
        task.advance()
        summaries.append(
            MiningSummary(
                mining_id, source, as_of, n, n_items, min_count, n_itemsets,
                rules.height, time.perf_counter() - started,
            )
        )  # fmt: skip
    return summaries


def _prune(conn: Connection, source: str) -> None:
    old = (
        conn.execute(
            select(M.c.mining_id)
            .where(M.c.source == source)
            .order_by(M.c.mined_at.desc(), M.c.mining_id.desc())
            .offset(RUNS_KEPT)
        )
        .scalars()
        .all()
    )
    if old:
        conn.execute(delete(R).where(R.c.mining_id.in_(old)))
        conn.execute(delete(M).where(M.c.mining_id.in_(old)))


@dataclass(frozen=True)
class StoredRules:
    """The newest run of one source and its rules (empty when never mined)."""

    mining_id: str | None
    source: str
    as_of: datetime | None
    baskets: int
    rules: pl.DataFrame


def load_rules(conn: Connection, source: str, *, every_triple_rule: bool = True) -> StoredRules:
    """The newest run of ``source`` and its rules. Without ``every_triple_rule`` a mined
    triple comes as (at least) one of its three rules — the one whose consequent sorts last
    in the database's order — which is all a reader of triple counts needs, for a third of
    the rows."""
    run = conn.execute(
        select(M.c.mining_id, M.c.as_of, M.c.baskets)
        .where(M.c.source == source)
        .order_by(M.c.mined_at.desc(), M.c.mining_id.desc())
        .limit(1)
    ).first()
    if run is None:
        return StoredRules(None, source, None, 0, pl.DataFrame(schema=RULE_SCHEMA))
    columns = ("antecedent_a", "antecedent_b", *(c for c in RULE_SCHEMA if c != "antecedent"))
    query = select(*(R.c[name] for name in columns)).where(R.c.mining_id == run.mining_id)
    if not every_triple_rule:
        query = query.where(or_(R.c.size == 2, R.c.consequent > R.c.antecedent_b))
    rows = conn.execute(query).all()
    frame = pl.DataFrame(
        rows,
        schema={"antecedent_a": pl.String, "antecedent_b": pl.String,
                **{c: t for c, t in RULE_SCHEMA.items() if c != "antecedent"}},
        orient="row",
    )  # fmt: skip
    frame = frame.select(
        pl.concat_list("antecedent_a", "antecedent_b").list.drop_nulls().alias("antecedent"),
        *(pl.col(c) for c in RULE_SCHEMA if c != "antecedent"),
    ).with_columns(pl.col("conviction").fill_null(np.inf))
    return StoredRules(run.mining_id, source, run.as_of, int(run.baskets), frame)


__all__ = ["MiningSummary", "RULE_SCHEMA", "StoredRules", "load_rules", "mine", "mine_rules"]

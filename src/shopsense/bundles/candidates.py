"""The five bundle types, each a function from the request's anchor items to candidates.
Definitions (with the thresholds) are in docs/bundles.md; each candidate carries a strength
that ranks it within its type, its support and lift where mined, and the reason in words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

from shopsense.bundles.signals import PRIOR_BASKETS, Seasonality, pair_seasonal_lift
from shopsense.bundles.state import Bools, BundleData, Floats, Ints, PairEvidence

TYPES = ("complementary", "cross_sell", "upsell", "seasonal", "promotional")
PARTNERS = 20  # partners of an anchor considered
VARIANTS = 3  # mined sets per anchor, each led by another of its best partners
UPSELL_MIN_STEP = 1.1  # a premium alternative costs at least 10 % more
UPSELL_MIN_SIMILARITY = 0.1
ACCESSORY_SHARE = 0.5  # an accessory costs under half the premium item
SEASONAL_MIN_LIFT = 1.5
SEASONAL_MIN_WINDOW = 3  # baskets in the window for an item to count as seasonal
SEASONAL_ITEMS = 12  # seasonal items that seed item-level sets
PROMOTIONAL_ITEMS = 12  # slow movers considered
EXCESS_DAYS = 90  # stock beyond this many days of sales is excess, the money to free


@dataclass(frozen=True)
class Candidate:
    type: str
    items: tuple[int, ...]  # the lead item first (the anchor, the premium or slow item)
    strength: float
    reason: str
    support: float | None = None
    lift: float | None = None
    anchored: bool = False  # contains (or, for upsell, replaces) a page item
    rule_confidence: float | None = None  # P(rest | lead) from the mined rule, when one


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _eligible(data: BundleData, excluded: Iterable[int]) -> Bools:
    ok = data.catalog.active & ~(data.catalog.stock <= 0)  # NaN (untracked) stays eligible
    ok[list(excluded)] = False
    return ok


def _partners(evidence: PairEvidence, a: int, ok: Bools) -> tuple[Ints, Floats]:
    """Items mined with ``a`` (lift at least the run's minimum), by lift x confidence."""
    row = evidence.lift.getrow(a)
    items, lifts = row.indices.astype(np.int64), row.data
    conf = np.asarray(evidence.confidence[a, items].todense()).ravel() if len(items) else lifts
    keep = ok[items]
    items, score = items[keep], (np.log1p(lifts) * conf)[keep]
    order = np.lexsort((items, -score))[:PARTNERS]
    return items[order], score[order]


def _clique(
    evidence: PairEvidence, a: int, partners: Ints, max_size: int, allowed: Bools | None = None
) -> tuple[int, ...]:
    """The anchor plus, greedily, the best partners mined with every member so far."""
    chosen = [a]
    for b in partners.tolist():
        if len(chosen) >= max_size:
            break
        if allowed is not None and not allowed[b]:
            continue
        if all(evidence.lift[b, m] > 0 for m in chosen[1:]):
            chosen.append(b)
    return tuple(chosen)


def _mined(
    data: BundleData,
    kind: str,
    anchors: list[int],
    ok: Bools,
    max_size: int,
    allowed: Bools | None = None,
) -> list[Candidate]:
    evidence = data.orders
    available = _eligible(data, ())
    found = []
    for a in anchors:
        if not available[a]:  # a sold-out or inactive page item cannot lead a bundle
            continue
        partners, score = _partners(evidence, a, ok if allowed is None else ok & allowed)
        sets: set[frozenset[int]] = set()
        for j in range(min(VARIANTS, len(partners))):
            # Variant j leads with the j-th partner, so a type whose best set another type
            # already offers still has a different one to give.
            ordered = np.r_[partners[j], np.delete(partners, j)]
            items = _clique(evidence, a, ordered, max_size)
            if len(items) < 2 or frozenset(items) in sets:
                continue
            sets.add(frozenset(items))
            found.append(_mined_candidate(data, kind, items, float(score[j])))
    return found


def _mined_candidate(
    data: BundleData, kind: str, items: tuple[int, ...], strength: float
) -> Candidate:
    evidence, a = data.orders, items[0]
    support, lift = evidence.support(items), evidence.lift_of(items)
    confidence = float(evidence.confidence[a, items[1]])
    orders = round((support or 0.0) * evidence.baskets)
    names = ", ".join(data.catalog.names[i] for i in items[1:])
    what = "bought with" if kind == "complementary" else "from another department, bought with"
    return Candidate(
        kind,
        items,
        strength,
        f"{names} {what} {data.catalog.names[a]} in {orders} orders "
        f"({lift or 0:.1f}x chance; {_pct(confidence)} of its buyers)",
        support,
        lift,
        anchored=True,
        rule_confidence=confidence,
    )


def complementary(
    data: BundleData, anchors: list[int], excluded: set[int], max_size: int
) -> list[Candidate]:
    """Items bought together far more than chance: mined pairs and triples with lift at least
    the setting, grown from the anchor into a set whose every pair was mined."""
    return _mined(
        data, "complementary", anchors, _eligible(data, excluded - set(anchors)), max_size
    )


def cross_sell(
    data: BundleData, anchors: list[int], excluded: set[int], max_size: int
) -> list[Candidate]:
    """Complements from a department none of the anchors (product or cart) is in."""
    codes = data.catalog.department_code
    other = (codes >= 0) & ~np.isin(codes, codes[anchors])
    ok = _eligible(data, excluded - set(anchors))
    return _mined(data, "cross_sell", anchors, ok, max_size, allowed=other)


def upsell(
    data: BundleData, anchors: list[int], excluded: set[int], max_size: int
) -> list[Candidate]:
    """A premium alternative in the anchor's own category: at least 10 % dearer with a larger
    margin, like it (content similarity plus the share of its viewers who viewed both),
    with an accessory when one fits: a complement bought with it, else the best seller of a
    sibling category costing under half of it."""
    c = data.catalog
    ok = _eligible(data, excluded)
    margin = c.price - c.cost
    found = []
    for a in anchors:
        if not c.category[a]:
            continue
        same = c.category_code == c.category_code[a]
        pool = np.flatnonzero(
            same & ok & (c.price >= UPSELL_MIN_STEP * c.price[a]) & (margin > margin[a])
        )
        pool = pool[pool != a]
        if not len(pool):
            continue
        content = c.similarity(a, pool)
        co_viewed = np.asarray(data.sessions.confidence[a, pool].todense()).ravel()
        similarity = 0.7 * content + 0.3 * np.minimum(1.0, 3 * co_viewed)
        keep = similarity >= UPSELL_MIN_SIMILARITY
        if not keep.any():
            continue
        pool, similarity = pool[keep], similarity[keep]
        gain = (margin[pool] - margin[a]) / np.maximum(margin[pool], 1e-9)
        strength = similarity * (1 + gain)
        best = int(np.argmax(strength))
        u = int(pool[best])
        items: tuple[int, ...] = (u,)
        accessory = _accessory(data, u, ok & ~np.isin(np.arange(c.size), [a, u]))
        if accessory is not None and max_size >= 2:
            items = (u, accessory)
        step = c.price[u] / max(c.price[a], 1e-9) - 1
        extra = f" with {c.names[accessory]}" if len(items) > 1 and accessory is not None else ""
        found.append(
            Candidate(
                "upsell",
                items,
                float(strength[best]),
                f"{c.names[u]}{extra} instead of {c.names[a]}: {_pct(step)} dearer, "
                f"{margin[u] - margin[a]:.2f} more margin, similarity {similarity[best]:.2f}",
                data.orders.support(items) if len(items) > 1 else None,
                data.orders.lift_of(items) if len(items) > 1 else None,
                anchored=True,
            )
        )
    return found


def _accessory(data: BundleData, u: int, ok: Bools) -> int | None:
    c = data.catalog
    cheap = ok & (c.price < ACCESSORY_SHARE * c.price[u])
    partners, _ = _partners(data.orders, u, cheap)
    if len(partners):
        return int(partners[0])
    siblings = (c.department_code == c.department_code[u]) & (c.category_code != c.category_code[u])
    best = data.popular(cheap & siblings)
    return int(best[0]) if len(best) else None


def seasonal(
    data: BundleData,
    anchors: list[int],
    excluded: set[int],
    max_size: int,
    seasonality: Seasonality,
    categories: Seasonality,
    pair_lifts: pl.DataFrame | None = None,
) -> list[Candidate]:
    """Sets whose sales concentrate in the coming weeks of the year: mined pairs whose
    seasonal lift is at least SEASONAL_MIN_LIFT, and sets grown from the most seasonal items
    (a complement, else the next seasonal item of another category). ``categories`` is the
    same measure over category paths, which an item's own lift is shrunk toward;
    ``pair_lifts``: ``seasonal_pairs`` computed beforehand (else computed here)."""
    c = data.catalog
    ok = _eligible(data, excluded)
    lift, window = _item_lift(data, seasonality, categories)
    seasonal_item = ok & (lift >= SEASONAL_MIN_LIFT) & (window >= SEASONAL_MIN_WINDOW)
    if seasonality.mode == "calendar":
        when = (
            f"in {seasonality.window_start:%d %b}-{seasonality.window_end:%d %b} than over the year"
        )
    else:  # too short a history for last year's season: the run-up into it
        when = f"in the last {seasonality.horizon_days} days than before (the season is coming)"
    found: list[Candidate] = []
    scored = seasonal_pairs(data, seasonality) if pair_lifts is None else pair_lifts
    if scored.height:
        hot = scored.filter(pl.col("lift") >= SEASONAL_MIN_LIFT).sort(
            ["lift", "a", "b"], descending=[True, False, False]
        )
        for a_id, b_id, pair_lift in hot.select("a", "b", "lift").head(PARTNERS).iter_rows():
            a, b = c.index[a_id], c.index[b_id]
            if not (ok[a] and ok[b]):
                continue
            found.append(
                Candidate(
                    "seasonal",
                    (a, b),
                    float(pair_lift),
                    f"{c.names[a]} and {c.names[b]} sell together {pair_lift:.1f}x more {when}",
                    data.orders.support((a, b)),
                    data.orders.lift_of((a, b)),
                    anchored=bool({a, b} & set(anchors)),
                    rule_confidence=float(data.orders.confidence[a, b]),
                )
            )
    leads = np.flatnonzero(seasonal_item)
    leads = leads[np.lexsort((leads, -lift[leads]))][:SEASONAL_ITEMS]
    anchored_first = [a for a in anchors if seasonal_item[a]]
    for s in [*anchored_first, *(x for x in leads.tolist() if x not in anchored_first)]:
        partners, _ = _partners(data.orders, s, seasonal_item)
        others = leads[(leads != s) & (c.category_code[leads] != c.category_code[s])]
        chosen = [s, *partners.tolist()[:1]]
        for x in others.tolist():
            if len(chosen) >= min(max_size, 3):
                break
            if x not in chosen:
                chosen.append(x)
        if len(chosen) < 2:
            continue
        items = tuple(chosen)
        mean_lift = float(np.mean(lift[list(items)]))
        found.append(
            Candidate(
                "seasonal",
                items,
                mean_lift,
                f"{', '.join(c.names[i] for i in items)}: {mean_lift:.1f}x more sales {when}",
                data.orders.support(items),
                data.orders.lift_of(items),
                anchored=s in anchors or any(c.department[s] == c.department[a] for a in anchors),
            )
        )
    return found


def seasonal_pairs(data: BundleData, seasonality: Seasonality) -> pl.DataFrame:
    """The seasonal lift of every mined pair (a, b, baskets, window_baskets, lift); costly
    on a large shop, so the engine computes it once per day and mining run."""
    c = data.catalog
    rows, cols = data.orders.lift.nonzero()
    upper = rows < cols
    pairs = pl.DataFrame(
        {"a": [c.ids[i] for i in rows[upper]], "b": [c.ids[i] for i in cols[upper]]},
        schema={"a": pl.String, "b": pl.String},
    )
    return pair_seasonal_lift(data.lines, pairs, seasonality.window_start, seasonality)


def _item_lift(
    data: BundleData, seasonality: Seasonality, categories: Seasonality
) -> tuple[Floats, Floats]:
    """Each item's seasonal lift shrunk toward its category's rather than toward 1:
    (k + a s L_cat) / (n + a) / s, with k and n its window and history baskets, s the
    window's share of all baskets and a = PRIOR_BASKETS. One sale more or less moves a
    single item's lift a lot; its category tells more about the season. Also answers the
    window baskets per item."""
    c = data.catalog
    k, n = np.zeros(c.size), np.zeros(c.size)
    frame = seasonality.items.filter(pl.col("item").is_in(c.ids))
    if frame.height:
        cols = frame["item"].replace_strict(c.index, return_dtype=pl.Int64).to_numpy()
        k[cols] = frame["window_baskets"].to_numpy()
        n[cols] = frame["baskets"].to_numpy()
    share = seasonality.share
    if share <= 0:
        return np.ones(c.size), k
    category_lift = categories.lift_of(c.category)
    lift = (k + PRIOR_BASKETS * share * category_lift) / (n + PRIOR_BASKETS) / share
    return lift, k


def promotional(
    data: BundleData,
    anchors: list[int],
    excluded: set[int],
    max_size: int,
    pressure: pl.DataFrame,
) -> list[Candidate]:
    """A slow-moving or overstocked item with a best seller: the slow items (stock pressure)
    with the most days of cover lead (never sold first; ties: the most money in stock beyond
    EXCESS_DAYS of sales), each paired with the best seller mined with it, else the best
    seller of its department. A best seller sells at least the median units of the items
    that sold."""
    c = data.catalog
    ok = _eligible(data, excluded)
    units = data.units
    sold = units[units > 0]
    best_seller = ok & (units >= (float(np.median(sold)) if len(sold) else np.inf))
    slow = (
        pressure.filter(pl.col("slow") & pl.col("item").is_in(c.ids))
        .with_columns(
            (
                (pl.col("stock") - pl.col("velocity") * EXCESS_DAYS).clip(lower_bound=0)
                * pl.col("stock_value")
                / pl.col("stock")
            ).alias("excess_value")
        )
        .sort(["days_of_cover", "excess_value", "item"], descending=[True, True, False])
    )
    lead_ids = slow["item"].replace_strict(c.index, return_dtype=pl.Int64).to_list()
    excess = dict(zip(lead_ids, slow["excess_value"].to_list(), strict=True))
    cover = dict(zip(lead_ids, slow["days_of_cover"].to_list(), strict=True))
    leads = [a for a in anchors if a in excess] + [
        s for s in lead_ids[:PROMOTIONAL_ITEMS] if s not in anchors
    ]
    rank = {item: k for k, item in enumerate(lead_ids)}
    top_units = float(units.max()) if units.size and units.max() > 0 else 1.0
    found = []
    for s in leads:
        if not ok[s]:
            continue
        partner_ok = best_seller & ~np.isin(np.arange(c.size), [s, *leads])
        partners, _ = _partners(data.orders, s, partner_ok)
        if len(partners):
            popular = partners[np.argsort(-units[partners], kind="stable")]
        else:
            popular = data.popular(partner_ok & (c.department_code == c.department_code[s]))
        # A best seller on the page becomes the partner when it fits.
        on_page = [a for a in anchors if partner_ok[a] and c.department[a] == c.department[s]]
        if not len(popular) and not on_page:
            continue
        p = on_page[0] if on_page else int(popular[0])
        items = (s, p)
        days = cover.get(s, float("inf"))
        shown = (
            "no recent sales"
            if days is None or not np.isfinite(days)
            else "over a year of stock"
            if days > 365
            else f"{days:.0f} days of stock"
        )
        found.append(
            Candidate(
                "promotional",
                items,
                (1 - 0.5 * rank[s] / max(len(lead_ids), 1)) * (0.5 + 0.5 * units[p] / top_units),
                f"clears {c.names[s]} ({shown}, {int(c.stock[s])} in stock, "
                f"{excess[s]:.0f} of cost beyond {EXCESS_DAYS} days of sales) with "
                f"{c.names[p]}, a best seller",
                data.orders.support(items),
                data.orders.lift_of(items),
                anchored=s in anchors or p in anchors,
                rule_confidence=float(data.orders.confidence[s, p]) or None,
            )
        )
    return found


__all__ = [
    "TYPES",
    "Candidate",
    "complementary",
    "cross_sell",
    "promotional",
    "seasonal",
    "seasonal_pairs",
    "upsell",
]

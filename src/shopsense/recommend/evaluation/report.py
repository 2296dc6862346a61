"""An evaluation as rich tables: one per variant, a row per model, a column per metric."""

from __future__ import annotations

from rich import box
from rich.table import Table

from shopsense.recommend.evaluation.metrics import ACCURACY
from shopsense.recommend.evaluation.runner import Evaluation

TITLES = {"all": "all items (repeats count)", "new_items": "new items only"}


def _title(result: Evaluation, variant: str, users: int) -> str:
    what = TITLES.get(variant, variant)
    if variant == "all" and result.split.startswith("random"):
        what = "all items (train items filtered)"
    return f"{result.dataset}, {result.split} split, {what}: {users:,} users"


def tables(result: Evaluation) -> list[Table]:
    """One table per variant; the best figure of each accuracy column in bold."""
    out = []
    for variant, models in result.variants.items():
        users = max((len(s.users) for s in models.values()), default=0)
        table = Table(title=_title(result, variant, users), box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("model", no_wrap=True)
        for key in ACCURACY:
            table.add_column(f"{key}@{result.k}", justify="right", no_wrap=True)
        for key in ("coverage", "novelty", "fit s"):
            table.add_column(key, justify="right", no_wrap=True)
        best = {
            key: max((s.metrics[key] for s in models.values()), default=0.0) for key in ACCURACY
        }
        for name, scores in models.items():
            m = scores.metrics
            cells = [
                f"[bold]{m[key]:.4f}[/bold]" if m[key] == best[key] > 0 else f"{m[key]:.4f}"
                for key in ACCURACY
            ]
            table.add_row(
                name, *cells, f"{m['coverage']:.3f}", f"{m['novelty']:.2f}",
                f"{scores.fit_seconds:.1f}",
            )  # fmt: skip
        out.append(table)
    return out


__all__ = ["tables"]

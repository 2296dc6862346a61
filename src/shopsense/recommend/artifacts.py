"""The versioned model store: one folder per training, written whole or not at all.

``<models_dir>/<version>/`` holds a subfolder per fitted model (``Recommender.save``), the
index that maps model rows and columns back to ids (``index.npz``: user and item ids, the
user-item matrix, purchase counts and per-segment popularity), the catalog as trained
(``items.parquet``) and ``metadata.json``. Everything is data (npz, parquet, JSON), never a
pickle. A version is built in a hidden sibling folder and renamed into place, so a reader
listing the folder sees complete versions only; the newest is the greatest name, a UTC
timestamp such as ``20261126T041500Z`` (``-2``, ``-3``... when two land in one second).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp

from shopsense.errors import ShopsenseError
from shopsense.recommend.base import Recommender
from shopsense.recommend.interactions import EVENT_SCHEMA, ITEM_SCHEMA, Interactions

log = logging.getLogger("shopsense.recommend")

FORMAT = 1
METADATA = "metadata.json"
INDEX = "index.npz"
ITEMS = "items.parquet"
PARAMS = "params.json"
VERSION = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 24 * 3600

Floats = npt.NDArray[np.float64]


class BadVersion(ShopsenseError):
    status = 503
    title = "Model version unreadable"


@dataclass(frozen=True)
class ModelSet:
    """One loaded version: the fitted models by name and what serving needs besides.

    ``data`` carries the id maps, the user-item matrix and the catalog as trained; its
    ``events`` are empty (models keep what they learned from them). ``purchased`` counts
    purchase lines per user and item; ``segments`` is purchase popularity per value segment
    of the profiles at training time."""

    version: str
    path: Path
    models: dict[str, Recommender]
    data: Interactions
    purchased: sp.csr_matrix
    segments: dict[str, Floats]
    metadata: dict[str, Any] = field(default_factory=dict)


def version_name(at: datetime) -> str:
    """The folder name of a version made at ``at`` (UTC)."""
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.strftime("%Y%m%dT%H%M%SZ")


def _order(name: str) -> tuple[str, int]:
    match = VERSION.match(name)
    if match is None:
        return ("", 0)
    return (match.group(1), int(match.group(2) or 1))


def versions(models_dir: Path) -> list[Path]:
    """Complete versions under ``models_dir``, oldest first."""
    try:
        entries = list(os.scandir(models_dir))
    except FileNotFoundError:
        return []
    found = [
        Path(e.path)
        for e in entries
        if e.is_dir() and VERSION.match(e.name) and (Path(e.path) / METADATA).is_file()
    ]
    return sorted(found, key=lambda p: _order(p.name))


def newest(models_dir: Path) -> Path | None:
    """The newest complete version, or None: one directory listing, cheap to poll."""
    found = versions(models_dir)
    return found[-1] if found else None


def purchase_counts(data: Interactions) -> sp.csr_matrix:
    """Purchase lines per (user, item) of the training events."""
    bought = data.events.filter(pl.col("kind") == "purchase")
    matrix = sp.csr_matrix(
        (
            np.ones(bought.height, dtype=np.float64),
            (bought["user"].to_numpy(), bought["item"].to_numpy()),
        ),
        shape=(data.n_users, data.n_items),
    )
    matrix.sum_duplicates()
    return matrix


def _csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, npt.NDArray[Any]]:
    csr = sp.csr_matrix(matrix)
    return {
        f"{prefix}.data": csr.data.astype(np.float64),
        f"{prefix}.indices": csr.indices,
        f"{prefix}.indptr": csr.indptr,
        f"{prefix}.shape": np.asarray(csr.shape, dtype=np.int64),
    }


def _csr(saved: Mapping[str, npt.NDArray[Any]], prefix: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in saved[f"{prefix}.shape"])
    return sp.csr_matrix(
        (saved[f"{prefix}.data"], saved[f"{prefix}.indices"], saved[f"{prefix}.indptr"]),
        shape=shape,
    )


def save_version(
    models_dir: Path,
    data: Interactions,
    models: Mapping[str, Recommender],
    *,
    metadata: dict[str, Any],
    segments: Mapping[str, Floats] | None = None,
    at: datetime | None = None,
) -> Path:
    """Write a complete version and rename it into place; answers its folder.

    ``metadata`` is completed with the version, the data sizes and each model's saved
    parameters."""
    at = at or datetime.now(UTC)
    models_dir.mkdir(parents=True, exist_ok=True)
    base = version_name(at)
    tmp = models_dir / f"{TMP_PREFIX}{base}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        described: dict[str, Any] = dict(metadata.get("models", {}))
        for name, model in models.items():
            model.save(tmp / name)
            params = json.loads((tmp / name / PARAMS).read_text())
            params.pop("model", None)
            described[name] = {**described.get(name, {}), "params": params}
        purchased = purchase_counts(data)
        seg = dict(segments or {})
        arrays: dict[str, npt.NDArray[Any]] = {
            "user_ids": np.asarray(data.user_ids, dtype=np.str_),
            "item_ids": np.asarray(data.item_ids, dtype=np.str_),
            "segment_names": np.asarray(list(seg), dtype=np.str_),
            "segment_scores": (
                np.vstack([seg[s] for s in seg]) if seg else np.zeros((0, data.n_items))
            ),
            **_csr_arrays("matrix", data.matrix),
            **_csr_arrays("purchased", purchased),
        }
        np.savez(tmp / INDEX, **arrays)  # type: ignore[arg-type]
        data.items.write_parquet(tmp / ITEMS)
        full = {
            **metadata,
            "format": FORMAT,
            "as_of": data.as_of.isoformat(),
            "sizes": {
                "users": data.n_users,
                "items": data.n_items,
                "events": data.events.height,
                "interactions": int(data.matrix.nnz),
                "purchases": int(purchased.sum()),
            },
            "models": described,
        }
        return _publish(tmp, models_dir, base, full)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp: Path, models_dir: Path, base: str, metadata: dict[str, Any]) -> Path:
    """Name the version (first free suffix), write metadata last and rename into place."""
    suffix = 1
    while True:
        name = base if suffix == 1 else f"{base}-{suffix}"
        final = models_dir / name
        if not final.exists():
            metadata["version"] = name
            (tmp / METADATA).write_text(json.dumps(metadata, indent=1, default=str))
            try:
                os.rename(tmp, final)
            except OSError:  # another trainer took the name between the check and the rename
                if not final.exists():
                    raise
            else:
                return final
        suffix += 1


def prune(models_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest versions (0: keep all) and leftovers of trainings
    that died; answers what was deleted. A server holding an older version keeps serving it:
    a loaded version lives in memory."""
    removed: list[Path] = []
    if keep > 0:
        for old in versions(models_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp in models_dir.glob(f"{TMP_PREFIX}*"):
        if tmp.is_dir() and tmp.stat().st_mtime < cutoff:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def read_metadata(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((path / METADATA).read_text())
    return loaded


def _empty_events() -> pl.DataFrame:
    schema = {**EVENT_SCHEMA, "user": pl.Int64, "item": pl.Int64, "weight": pl.Float64}
    return pl.DataFrame(schema=schema)


def load_version(path: Path, registry: Mapping[str, type[Recommender]]) -> ModelSet:
    """Read a version written by ``save_version``; its models are looked up by name in
    ``registry`` (a model whose class is no longer registered is skipped, with a warning)."""
    try:
        metadata = read_metadata(path)
        with np.load(path / INDEX, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
        items = pl.read_parquet(path / ITEMS)
    except (OSError, ValueError, KeyError, pl.exceptions.PolarsError) as exc:
        raise BadVersion(f"model version {path.name} cannot be read: {exc}") from exc
    user_ids = arrays["user_ids"].astype(str)
    item_ids = arrays["item_ids"].astype(str)
    items = items.select(
        [
            pl.col(c).cast(t) if c in items.columns else pl.lit(None, t).alias(c)
            for c, t in ITEM_SCHEMA.items()
        ]
    )
    data = Interactions(
        user_ids=user_ids,
        item_ids=item_ids,
        matrix=_csr(arrays, "matrix"),
        events=_empty_events(),
        items=items,
        as_of=datetime.fromisoformat(metadata["as_of"]),
        _user_index={u: i for i, u in enumerate(user_ids.tolist())},
        _item_index={t: j for j, t in enumerate(item_ids.tolist())},
    )
    models: dict[str, Recommender] = {}
    for name in metadata.get("models", {}):
        cls = registry.get(name)
        if cls is None:
            log.warning("model %s of version %s is not registered; skipped", name, path.name)
            continue
        try:
            models[name] = cls.load(path / name)
        except (OSError, ValueError, KeyError) as exc:
            raise BadVersion(f"model {name} of version {path.name}: {exc}") from exc
    names = arrays["segment_names"].astype(str).tolist()
    scores = arrays["segment_scores"]
    return ModelSet(
        version=path.name,
        path=path,
        models=models,
        data=data,
        purchased=_csr(arrays, "purchased"),
        segments={name: scores[k].astype(np.float64) for k, name in enumerate(names)},
        metadata=metadata,
    )


__all__ = [
    "BadVersion",
    "ModelSet",
    "load_version",
    "newest",
    "prune",
    "purchase_counts",
    "read_metadata",
    "save_version",
    "version_name",
    "versions",
]

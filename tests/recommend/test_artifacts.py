"""The model store: versions round-trip without pickles, appear whole or not at all, sort by
time, and are pruned to the newest few."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from contract import checkerboard

from shopsense.recommend import Interactions
from shopsense.recommend.artifacts import (
    BadVersion,
    load_version,
    newest,
    prune,
    purchase_counts,
    save_version,
    version_name,
    versions,
)
from shopsense.recommend.complements import BoughtTogether
from shopsense.recommend.models import Popular

REGISTRY = {"popular": Popular, "bought_together": BoughtTogether}
AT = datetime(2026, 11, 26, 4, 15, 0)


@pytest.fixture(scope="module")
def data() -> Interactions:
    return checkerboard()


def _save(folder: Path, data: Interactions, at: datetime = AT) -> Path:
    models = {"popular": Popular().fit(data), "bought_together": BoughtTogether().fit(data)}
    segments = {"high_value": np.arange(data.n_items, dtype=np.float64)}
    return save_version(
        folder, data, models, metadata={"metrics": {"ndcg@10": 0.5}}, segments=segments, at=at
    )


def test_a_version_round_trips(data: Interactions, tmp_path: Path) -> None:
    path = _save(tmp_path, data)
    assert path.name == "20261126T041500Z" == version_name(AT)
    loaded = load_version(path, REGISTRY)
    assert loaded.version == path.name
    np.testing.assert_array_equal(loaded.data.user_ids, data.user_ids)
    np.testing.assert_array_equal(loaded.data.item_ids, data.item_ids)
    assert (loaded.data.matrix != data.matrix).nnz == 0
    assert (loaded.purchased != purchase_counts(data)).nnz == 0
    assert loaded.data.user_index("u03") == data.user_index("u03")
    assert loaded.data.item_index("i07") == data.item_index("i07")
    assert loaded.data.items.select("item_id", "name", "category", "price").equals(
        data.items.select("item_id", "name", "category", "price")
    )
    np.testing.assert_array_equal(loaded.segments["high_value"], np.arange(data.n_items))
    users = np.arange(data.n_users)
    for name, model in loaded.models.items():
        original = type(model)().fit(data)
        a = original.recommend(users, data.user_items(users), n=5)
        b = model.recommend(users, loaded.data.user_items(users), n=5)
        np.testing.assert_array_equal(a[0], b[0], err_msg=name)


def test_metadata_describes_the_version(data: Interactions, tmp_path: Path) -> None:
    meta = json.loads((_save(tmp_path, data) / "metadata.json").read_text())
    assert meta["version"] == "20261126T041500Z"
    assert meta["as_of"] == data.as_of.isoformat()
    assert meta["sizes"]["users"] == data.n_users and meta["sizes"]["items"] == data.n_items
    assert meta["sizes"]["purchases"] == int(purchase_counts(data).sum())
    assert meta["models"]["popular"]["params"]["half_life_days"] == 30.0
    assert meta["metrics"] == {"ndcg@10": 0.5}


def test_nothing_is_pickled(data: Interactions, tmp_path: Path) -> None:
    path = _save(tmp_path, data)
    for npz in path.rglob("*.npz"):
        with np.load(npz, allow_pickle=False) as saved:  # raises on any object array
            for key in saved.files:
                assert saved[key].dtype != object


def test_versions_sort_by_time_and_suffix(data: Interactions, tmp_path: Path) -> None:
    first = _save(tmp_path, data)
    second = _save(tmp_path, data)  # the same second: a suffix
    later = _save(tmp_path, data, at=datetime(2026, 11, 26, 5, 0, 0))
    assert second.name == "20261126T041500Z-2"
    for k in range(3, 11):
        assert _save(tmp_path, data).name == f"20261126T041500Z-{k}"
    names = [p.name for p in versions(tmp_path)]
    assert names[0] == first.name and names[1] == second.name
    assert names[-2] == "20261126T041500Z-10" and names[-1] == later.name
    assert newest(tmp_path) == later


def test_a_half_written_version_is_invisible(data: Interactions, tmp_path: Path) -> None:
    done = _save(tmp_path, data)
    (tmp_path / ".tmp-20261127T000000Z-abcd").mkdir()  # a training under way
    (tmp_path / "20261128T000000Z").mkdir()  # no metadata: not complete
    (tmp_path / "notes").mkdir()
    assert newest(tmp_path) == done
    assert newest(tmp_path / "missing") is None


def test_a_failed_save_leaves_nothing(data: Interactions, tmp_path: Path) -> None:
    class Broken(Popular):
        def _state(self) -> dict[str, object]:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_version(tmp_path, data, {"popular": Broken().fit(data)}, metadata={})
    assert list(tmp_path.iterdir()) == []


def test_prune_keeps_the_newest(data: Interactions, tmp_path: Path) -> None:
    made = [_save(tmp_path, data, at=datetime(2026, 11, 26, h)) for h in range(5)]
    stale = tmp_path / ".tmp-20261101T000000Z-dead"
    stale.mkdir()
    os.utime(stale, (0, 0))
    removed = prune(tmp_path, keep=2)
    assert [p.name for p in versions(tmp_path)] == [m.name for m in made[-2:]]
    assert stale in removed and not stale.exists()
    assert prune(tmp_path, keep=0) == []


def test_an_unreadable_version_is_a_clear_error(data: Interactions, tmp_path: Path) -> None:
    path = _save(tmp_path, data)
    (path / "index.npz").write_bytes(b"not a zip")
    with pytest.raises(BadVersion, match=path.name):
        load_version(path, REGISTRY)


def test_an_unregistered_model_is_skipped(data: Interactions, tmp_path: Path) -> None:
    loaded = load_version(_save(tmp_path, data), {"popular": Popular})
    assert list(loaded.models) == ["popular"]

"""Training fits every registered model the data supports, records why the others were
skipped, and saves one version; the CLI and the scheduled retrainer drive it."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopsense.cli import app
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.errors import ShopsenseError
from shopsense.recommend.artifacts import newest, read_metadata, versions
from shopsense.recommend.data import load_interactions
from shopsense.recommend.interactions import Interactions
from shopsense.recommend.models import MODELS, Popular
from shopsense.recommend.training import NothingToTrain, Retrainer, registry, train
from shopsense.settings import Settings

AS_OF = datetime(2026, 11, 1, 23, 59)
SPEC = StoreSpec(users=60, products=30, days=14, seed=5)


class Picky(Popular):
    """A model that declines big catalogs, as EASE does."""

    name = "picky"

    def _fit(self, data: Interactions) -> None:
        raise ShopsenseError(f"{data.n_items} items is over the limit of 3")


@pytest.fixture
def trained_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"models_dir": tmp_path / "models", "timezone": "UTC"})


@pytest.fixture
def store(db: Database, trained_settings: Settings) -> Database:
    generate_store(db, SPEC, settings=trained_settings)
    return db


def test_train_fits_every_registered_model(store: Database, trained_settings: Settings) -> None:
    path = train(store, trained_settings, AS_OF)
    meta = read_metadata(path)
    assert path.parent == trained_settings.models_dir and path.name == meta["version"]
    assert set(meta["models"]) | set(meta["skipped"]) == set(registry())
    assert set(MODELS) <= set(registry()) and "bought_together" in registry()
    for name, info in meta["models"].items():
        assert (path / name / "state.npz").is_file()
        assert info["fit_seconds"] >= 0 and "params" in info
    with store.read() as conn:
        data = load_interactions(conn, AS_OF)
    assert meta["sizes"]["users"] == data.n_users
    assert meta["sizes"]["items"] == data.n_items
    assert meta["sizes"]["events"] == data.events.height
    assert meta["as_of"] == AS_OF.isoformat()
    assert meta["seconds"] > 0 and meta["trained_at"]


def test_a_model_the_data_does_not_support_is_skipped(
    store: Database, trained_settings: Settings
) -> None:
    path = train(store, trained_settings, AS_OF, models={"popular": Popular, "picky": Picky})
    meta = read_metadata(path)
    assert list(meta["models"]) == ["popular"]
    assert meta["skipped"] == {"picky": "30 items is over the limit of 3"}
    assert not (path / "picky").exists()


def test_as_of_bounds_the_data(store: Database, trained_settings: Settings) -> None:
    early = read_metadata(train(store, trained_settings, datetime(2026, 10, 25)))
    late = read_metadata(train(store, trained_settings, AS_OF))
    assert 0 < early["sizes"]["events"] < late["sizes"]["events"]


def test_an_empty_store_has_nothing_to_train(db: Database, trained_settings: Settings) -> None:
    with pytest.raises(NothingToTrain, match="track or import"):
        train(db, trained_settings)
    assert newest(trained_settings.models_dir) is None


def test_old_versions_are_pruned(store: Database, trained_settings: Settings) -> None:
    keep_two = trained_settings.model_copy(update={"models_keep": 2})
    made = [train(store, keep_two, AS_OF, models={"popular": Popular}) for _ in range(3)]
    assert versions(keep_two.models_dir) == made[1:]


def test_the_retrainer_trains_on_a_schedule(store: Database, trained_settings: Settings) -> None:
    every = trained_settings.model_copy(update={"retrain_interval_minutes": 0.01})  # 0.6 s
    trained: list[Path] = []
    retrainer = Retrainer(store, every, on_trained=trained.append)
    retrainer.start()
    try:
        deadline = time.monotonic() + 60
        while len(trained) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        retrainer.stop(timeout=30)
    assert len(trained) >= 2
    assert newest(every.models_dir) == trained[-1]


def test_the_retrainer_is_off_by_default_and_survives_failures(
    db: Database, trained_settings: Settings
) -> None:
    retrainer = Retrainer(db, trained_settings)
    retrainer.start()
    assert retrainer._thread is None
    assert retrainer.run_once() is None  # empty store: logged, not raised


def test_the_train_command(
    runner: CliRunner,
    store: Database,
    trained_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHOPSENSE_MODELS_DIR", str(trained_settings.models_dir))
    result = runner.invoke(app, ["train", "--as-of", "2026-11-01"])
    assert result.exit_code == 0, result.output
    path = newest(trained_settings.models_dir)
    assert path is not None
    assert f"model version {path.name}" in result.output
    assert "popular" in result.output and "bought_together" in result.output
    assert read_metadata(path)["as_of"].startswith("2026-11-01T23:59:59")
    bad = runner.invoke(app, ["train", "--as-of", "yesterday"])
    assert bad.exit_code != 0

"""``shopsense evaluate`` on a generated demo store, and its errors as clean messages."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopsense.cli import app, main
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.recommend.evaluation import demo, evaluate
from shopsense.recommend.evaluation.datasets import latest_event
from shopsense.recommend.models import MODELS, Popular
from shopsense.settings import Settings

METRICS = {"ndcg@10", "recall@10", "hit@10", "map@10", "coverage", "novelty"}


def test_evaluate_a_demo_store(
    runner: CliRunner, db: Database, settings: Settings, tmp_path: Path
) -> None:
    generate_store(db, StoreSpec(users=300, products=80, days=45, seed=7), settings=settings)
    out = tmp_path / "figures.json"
    result = runner.invoke(
        app, ["evaluate", "--dataset", "demo", "--split", "temporal", "--k", "10", "--json",
              str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "new items only" in result.output
    data = json.loads(out.read_text())
    assert set(data) == {"dataset", "split", "k", "variants", "hybrid"}
    for variant, versus in data["hybrid"].items():  # against the best other model
        best = max(
            (m for m in data["variants"][variant] if m != "hybrid"),
            key=lambda m: data["variants"][variant][m]["ndcg@10"],
        )
        assert versus["baseline"] == best
        low, high = versus["ci95"]
        assert low <= versus["difference"] <= high
    assert (data["dataset"], data["split"], data["k"]) == ("demo", "temporal", 10)
    assert set(data["variants"]) == {"all", "new_items"}
    for models in data["variants"].values():
        assert list(models) == list(MODELS)  # every registered model by default
        for row in models.values():
            assert METRICS <= set(row) and set(row) - METRICS <= {"fit_seconds", "users"}
            assert all(0.0 <= row[m] <= 1.0 for m in METRICS - {"novelty"})
    # The figures are the harness's own: popularity evaluated directly agrees.
    split = demo(db)
    direct = evaluate(split, {"popular": Popular}).to_json()["variants"]
    for variant, models in direct.items():
        row = data["variants"][variant]["popular"]
        for metric in METRICS:
            assert row[metric] == pytest.approx(models["popular"][metric])
    # 14 days held out before the newest event; users with a purchase or cart in them.
    end = latest_event(db)
    assert end is not None and end - split.train.as_of == timedelta(days=14)
    assert data["variants"]["all"]["popular"]["users"] == len(split.users) > 0
    assert data["variants"]["all"]["popular"]["ndcg@10"] > 0.0


def test_models_option(runner: CliRunner, db: Database, settings: Settings, tmp_path: Path) -> None:
    generate_store(db, StoreSpec(users=300, products=80, days=45, seed=7), settings=settings)
    out = tmp_path / "figures.json"
    result = runner.invoke(
        app, ["evaluate", "--dataset", "demo", "--models", "trending,popular", "--k", "5",
              "--json", str(out), "--validation"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["split"] == "temporal-validation" and data["k"] == 5
    assert list(data["variants"]["all"]) == ["trending", "popular"]
    assert "ndcg@5" in data["variants"]["new_items"]["popular"]


def _console(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """What the installed ``shopsense`` script prints for ``argv``, and that it exits 2."""
    monkeypatch.setattr(sys, "argv", ["shopsense", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    return capsys.readouterr().out


def test_wrong_protocol_is_a_clean_error(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = _console(
        ["evaluate", "--dataset", "ml-100k", "--split", "temporal"], monkeypatch, capsys
    )
    assert "error:" in printed and "random split" in printed
    assert "Traceback" not in printed


def test_missing_dataset_is_a_clean_error(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SHOPSENSE_DATASETS", str(tmp_path))
    printed = _console(["evaluate", "--dataset", "online-retail"], monkeypatch, capsys)
    assert "error:" in printed and "not found" in printed and "SHOPSENSE_DATASETS" in printed
    printed = _console(["evaluate", "--dataset", "movies"], monkeypatch, capsys)
    assert "unknown data set" in printed


def test_an_empty_shop_is_a_clean_error(
    runner: CliRunner,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed = _console(["evaluate", "--dataset", "demo"], monkeypatch, capsys)
    assert "no events" in printed

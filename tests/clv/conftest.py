"""Fixtures of the CLV tests: the published CDNOW sample, when this machine has it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

FloatArray = npt.NDArray[np.float64]


def datasets_root() -> Path | None:
    """``SHOPSENSE_DATASETS`` if set, else ``shared/datasets`` beside the repository."""
    configured = os.environ.get("SHOPSENSE_DATASETS")
    candidate = (
        Path(configured)
        if configured
        else Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
    )
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def cdnow_sample() -> pl.DataFrame:
    """The 2,357-customer CDNOW sample over its 39-week calibration: ID, x, t_x, T, zbar."""
    root = datasets_root()
    path = root / "cdnow" / "cdnow_sample_summary.csv" if root else None
    if path is None or not path.is_file():
        pytest.skip(
            "CDNOW sample absent: set SHOPSENSE_DATASETS or put shared/datasets beside the repo "
            "(needs cdnow/cdnow_sample_summary.csv)"
        )
    return pl.read_csv(path)

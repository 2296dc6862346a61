"""Category paths (or any labels) as integer codes, so a comparison over the whole catalog is
one numpy operation rather than a Python loop over its strings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl


def label_codes(values: pl.Series) -> npt.NDArray[np.int64]:
    """A code per distinct non-empty value, -1 for the empty one."""
    _, inverse = np.unique(values.to_numpy().astype(str), return_inverse=True)
    codes = inverse.astype(np.int64)
    codes[(values == "").to_numpy()] = -1
    return codes


__all__ = ["label_codes"]

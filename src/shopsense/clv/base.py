"""What every CLV model shares: the penalty, the fitted attributes and how it prints."""

from __future__ import annotations

import numpy as np

from shopsense.clv.checks import invalid


class FittedModel:
    """Base of the maximum-likelihood models; fitted state lives in trailing-underscore
    attributes, as in lifetimes and scikit-learn."""

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        if not np.isfinite(penalizer_coef) or penalizer_coef < 0:
            raise invalid(
                f"penalizer_coef must be a finite number >= 0, got {penalizer_coef}",
                "negative penalizer",
                "penalizer_coef",
            )
        self.penalizer_coef = float(penalizer_coef)
        self.params_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None
        self.n_iter_: int | None = None
        self.standard_errors_: dict[str, float] | None = None

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.params_ is None:
            return f"{name}(penalizer_coef={self.penalizer_coef})"
        shown = ", ".join(f"{k}={v:.4f}" for k, v in self.params_.items())
        return f"{name}({shown})"

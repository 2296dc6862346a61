"""Maximum likelihood by a trust-region Newton method, shared by the CLV models."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from shopsense.clv.checks import FloatArray
from shopsense.errors import ConvergenceError

# Largest gradient (of the mean log-likelihood, in log-parameters) accepted when the optimiser
# stops without declaring success: Newton steps stop predicting an improvement once the
# gradient is down to the rounding noise of the sums, which is convergence, not failure.
_STALL_GRADIENT = 1e-6

# Derivatives beyond this are treated like infinities: the trust region squares them.
_HUGE = 1e100


class Objective(ABC):
    """Mean negative log-likelihood over log-parameters, with exact gradient and Hessian.

    Subclasses set ``n`` (total weight) and ``n_params`` and implement `_compute`. The last
    point is cached because the optimiser asks for the value, gradient and Hessian of one
    point in separate calls.
    """

    n: float
    n_params: int

    def __init__(self) -> None:
        self._at: bytes | None = None
        self._value = 0.0
        self._grad = np.zeros(self.n_params)
        self._hess = np.zeros((self.n_params, self.n_params))

    def value_and_grad(self, log_params: FloatArray) -> tuple[float, FloatArray]:
        self._evaluate(log_params)
        return self._value, self._grad

    def hess(self, log_params: FloatArray) -> FloatArray:
        self._evaluate(log_params)
        return self._hess

    @abstractmethod
    def _compute(self, log_params: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """Value, gradient and Hessian at ``log_params`` (each model's own likelihood)."""

    def _evaluate(self, log_params: FloatArray) -> None:
        point = np.asarray(log_params, dtype=np.float64)
        key = point.tobytes()
        if key == self._at:
            return
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            value, grad, hess = self._compute(point)
        representable = (
            np.isfinite(value)
            and bool(np.all(np.abs(grad) < _HUGE))
            and bool(np.all(np.abs(hess) < _HUGE))
        )
        if not representable:
            # +inf makes the trust region reject the step and shrink instead of carrying NaN.
            value, grad, hess = np.inf, np.zeros(self.n_params), np.eye(self.n_params)
        self._at, self._value, self._grad, self._hess = key, value, grad, hess


@dataclass(frozen=True)
class Estimate:
    log_params: FloatArray
    value: float
    n_iter: int
    log_params_cov: FloatArray


def maximise(objective: Objective, tol: float, max_iter: int, model: str) -> Estimate:
    """Minimise ``objective`` from log-parameters 0 with scipy's ``trust-exact``.

    Exact Hessians make it converge quadratically, in a handful of iterations; unlike
    L-BFGS-B it makes no BLAS calls on tiny vectors, whose OpenBLAS thread hand-offs would
    cost more than the fit itself.

    Raises
    ------
    ConvergenceError
        On a non-finite optimum, or when it stopped away from a stationary point.
    """
    # Far from the optimum the trust region's own arithmetic on huge derivatives may overflow;
    # that only makes it reject the step, and the outcome is checked below.
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = minimize(
                objective.value_and_grad,
                x0=np.zeros(objective.n_params),
                jac=True,
                hess=objective.hess,
                method="trust-exact",
                options={"gtol": tol, "maxiter": max_iter},
            )
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise ConvergenceError(f"{model} fit failed: {exc}") from exc
    log_params = np.asarray(result.x, dtype=np.float64)
    value = float(result.fun)
    if not (np.all(np.isfinite(log_params)) and np.isfinite(value)):
        raise ConvergenceError(
            f"{model} fit ended on a non-finite likelihood or parameters: "
            "the data are beyond what the model can represent"
        )
    stalled = float(np.max(np.abs(result.jac))) < _STALL_GRADIENT
    if not (result.success or stalled):
        raise ConvergenceError(f"{model} fit did not converge: {result.message}")
    # Covariance of the log-parameters: inverse of the total (not mean) observed information.
    hess = objective.hess(log_params) * objective.n
    try:
        cov = np.asarray(np.linalg.inv(hess), dtype=np.float64)
    except np.linalg.LinAlgError:
        cov = np.full((objective.n_params, objective.n_params), np.nan)
    return Estimate(log_params, value, int(result.nit), cov)


def weight_per_distinct(x: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct values of the whole-number vector ``x`` (all > 0 weight) and their total weight.

    A counting pass when the values are small, as purchase counts are; a sort otherwise.
    """
    if len(x) and float(x.max()) <= 4 * len(x) + 1024:
        counts = np.bincount(x.astype(np.intp), weights=w)
        present = np.flatnonzero(counts)
        return present.astype(np.float64), np.asarray(counts[present], dtype=np.float64)
    distinct, inverse = np.unique(x, return_inverse=True)
    weight = np.bincount(inverse, weights=w, minlength=len(distinct))
    return distinct, np.asarray(weight, dtype=np.float64)


def standard_errors(
    names: list[str], params: dict[str, float], cov: FloatArray
) -> dict[str, float]:
    """Delta-method standard errors of the parameters from those of their logarithms."""
    variances = np.diag(cov)
    return {
        name: float(params[name] * np.sqrt(v)) if v >= 0 else float("nan")
        for name, v in zip(names, variances, strict=True)
    }

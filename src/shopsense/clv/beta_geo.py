"""The BG/NBD ("beta-geometric / negative binomial") model of repeat purchasing.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 275-284. While alive a customer buys as a Poisson
process of rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out for good with
probability p ~ Beta(a, b). A customer's history is summarised by x (repeat purchases), t_x (time
of the last one, measured from the first purchase) and T (time observed since the first
purchase).

The fit is tuned for speed because it runs on every customer of a shop: terms of x alone are
computed once per distinct x, customers without repeat purchases enter through a few sums over
their T, and a trust-region Newton method gets the exact gradient and Hessian, so it converges
in a handful of iterations. (scipy's L-BFGS-B was avoided: it calls BLAS on tiny vectors, and
the OpenBLAS thread hand-offs alone cost more than the whole fit.)
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import (
    betaln,
    digamma,
    expit,
    gammaln,
    hyp2f1,
    zeta,
)

from shopsense.clv._optimize import Objective, maximise, standard_errors, weight_per_distinct
from shopsense.clv.base import FittedModel
from shopsense.clv.checks import FloatArray, as_vector, check_inputs, invalid
from shopsense.errors import NotFitted

__all__ = ["BetaGeoModel"]


class _Cohort:
    """A cohort split the way the log-likelihood uses it, built once per fit.

    Terms of x alone are needed once per distinct x (``ux`` with total weight ``weight_x``);
    customers without repeat purchases only through their T; the others row by row.
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        keep = w > 0
        if not keep.all():
            x, t_x, T, w = x[keep], t_x[keep], T[keep], w[keep]
        self.n = float(w.sum())
        self.ux, self.weight_x = weight_per_distinct(x, w)
        zero = x == 0
        self.T0, self.w0 = T[zero], w[zero]
        pos = ~zero
        self.x, self.t_x, self.T, self.w = x[pos], t_x[pos], T[pos], w[pos]
        self.wx = self.w * self.x


class _Objective(Objective):
    """Mean negative log-likelihood of BG/NBD with its exact gradient and Hessian.

    Per customer (eq. 6 of the paper, rearranged)::

        LL = ln Gamma(r+x) - ln Gamma(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
             - (r+x) ln(alpha+T) + [x>0] softplus(d)
        d  = ln a - ln(b+x-1) - (r+x) (ln(alpha+t_x) - ln(alpha+T))

    where softplus(d) = ln(1 + e^d) adds the "dropped out right after the last purchase"
    branch to the "still alive at T" one. Derivatives are with respect to the log-parameters,
    which the optimiser works on.
    """

    n_params = 4

    def __init__(self, cohort: _Cohort, penalizer_coef: float) -> None:
        self.cohort = cohort
        self.n = cohort.n
        self.penalizer_coef = penalizer_coef
        super().__init__()

    def _compute(self, log_params: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        c = self.cohort
        r, alpha, a, b = (float(v) for v in np.exp(log_params))
        n, ux, wk = c.n, c.ux, c.weight_x
        g = np.zeros(4)  # gradient of the total log-likelihood in (r, alpha, a, b)
        h = np.zeros((4, 4))  # its Hessian

        # Terms of x alone, once per distinct x.
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + ux)
        tri_ab, tri_abx = zeta(2.0, a + b), zeta(2.0, a + b + ux)
        ll = float(np.sum(wk * (gammaln(r + ux) + betaln(a, b + ux))))
        ll += n * (r * np.log(alpha) - gammaln(r) - betaln(a, b))
        g[0] = float(np.sum(wk * digamma(r + ux))) + n * (np.log(alpha) - digamma(r))
        g[1] = n * r / alpha
        g[2] = float(np.sum(wk * (psi_ab - psi_abx)))
        g[3] = float(np.sum(wk * (digamma(b + ux) - digamma(b) + psi_ab - psi_abx)))
        h[0, 0] = float(np.sum(wk * zeta(2.0, r + ux))) - n * zeta(2.0, r)
        h[0, 1] = n / alpha
        h[1, 1] = -n * r / alpha**2
        h[2, 2] = h[2, 3] = float(np.sum(wk * (tri_ab - tri_abx)))
        h[3, 3] = float(np.sum(wk * (zeta(2.0, b + ux) - zeta(2.0, b) + tri_ab - tri_abx)))

        # No repeat purchase: -r ln(alpha+T).
        if len(c.w0):
            inv0 = 1.0 / (alpha + c.T0)
            s_log = float(np.sum(c.w0 * np.log(alpha + c.T0)))
            s_inv = float(np.sum(c.w0 * inv0))
            ll -= r * s_log
            g[0] -= s_log
            g[1] -= r * s_inv
            h[0, 1] -= s_inv
            h[1, 1] += r * float(np.sum(c.w0 * inv0 * inv0))

        # Repeat buyers, row by row: A3 + softplus(d) with A3 = -(r+x) ln(alpha+T).
        if len(c.w):
            w, rx = c.w, r + c.x
            l_T, l_t = np.log(alpha + c.T), np.log(alpha + c.t_x)
            i_T, i_t = 1.0 / (alpha + c.T), 1.0 / (alpha + c.t_x)
            inv_bx = 1.0 / (b + c.x - 1.0)
            dl, di = l_t - l_T, i_t - i_T
            d = np.log(a * inv_bx) - rx * dl
            e = np.exp(-np.abs(d))
            alive = np.where(d >= 0, 1.0, e) / (1.0 + e)  # logistic(d), no overflow
            q = w * alive * (1.0 - alive)
            wa = w * alive
            rx_di = rx * di
            ll += float(np.sum(w * (np.maximum(d, 0.0) + np.log1p(e) - rx * l_T)))
            # First and second derivatives of d: d_r = -dl, d_alpha = -(r+x) di, d_a = 1/a,
            # d_b = -1/(b+x-1); d_r_alpha = -di, d_alpha_alpha = (r+x)(i_t^2 - i_T^2),
            # d_aa = -1/a^2, d_bb = 1/(b+x-1)^2. The Hessian of softplus(d) is
            # alive * d'' + alive (1 - alive) d' d'^T.
            g[0] -= float(np.sum(w * l_T + wa * dl))
            g[1] -= float(np.sum((w * rx) * i_T + wa * rx_di))
            sum_wa = float(np.sum(wa))
            g[2] += sum_wa / a
            g[3] -= float(np.sum(wa * inv_bx))
            q_bx = q * inv_bx
            h[0, 0] += float(np.sum(q * dl * dl))
            h[0, 1] += float(np.sum(-w * i_T - wa * di + q * dl * rx_di))
            h[1, 1] += float(
                np.sum(w * rx * i_T * i_T + wa * rx * (i_t * i_t - i_T * i_T) + q * rx_di * rx_di)
            )
            sum_q = float(np.sum(q))
            h[0, 2] -= float(np.sum(q * dl)) / a
            h[0, 3] += float(np.sum(q_bx * dl))
            h[1, 2] -= float(np.sum(q * rx_di)) / a
            h[1, 3] += float(np.sum(q_bx * rx_di))
            h[2, 2] += (sum_q - sum_wa) / a**2
            h[2, 3] -= float(np.sum(q_bx)) / a
            h[3, 3] += float(np.sum((wa + q) * inv_bx * inv_bx))

        h = np.triu(h) + np.triu(h, 1).T
        theta = np.array([r, alpha, a, b])
        pen = self.penalizer_coef
        # Chain rule to log-parameters, mean over customers, sign for minimisation, penalty.
        value = -ll / n + pen * float(np.sum(theta**2))
        grad = -(g * theta) / n + 2.0 * pen * theta**2
        hess = -(h * np.outer(theta, theta) + np.diag(g * theta)) / n
        hess += np.diag(4.0 * pen * theta**2)
        return float(value), grad, hess


def _hyp_term(
    t: FloatArray, x: FloatArray, T: FloatArray, r: float, alpha: float, a: float, b: float
) -> FloatArray:
    """((alpha+T) / (alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; t / (alpha+T+t)).

    Computed through Euler's transformation 2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)
    as (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z): the direct form multiplies a huge
    hypergeometric value by a tiny power when x or t is large and overflows; this one stays
    bounded because its upper parameters no longer grow with x.
    """
    z = t / (alpha + T + t)
    return np.asarray(
        np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z),
        dtype=np.float64,
    )


class BetaGeoModel(FittedModel):
    """BG/NBD model fitted by maximum likelihood, with the prediction methods of ``lifetimes``.

    Parameters
    ----------
    penalizer_coef
        Coefficient of an L2 penalty on (r, alpha, a, b), added to the mean negative
        log-likelihood exactly as ``lifetimes`` does (alpha in units where the largest T is 1),
        so that a given coefficient shrinks the same way in both.

    Attributes
    ----------
    params_
        ``{"r", "alpha", "a", "b"}`` after `fit`; alpha in the time unit of the data.
    log_likelihood_
        Total (weighted, unpenalised) log-likelihood at the estimate, in the data's time unit,
        comparable with published figures.
    n_iter_
        Optimiser iterations.
    standard_errors_
        Asymptotic standard errors of ``params_`` (inverse observed information, delta
        method), as ``lifetimes`` reports them.
    """

    def fit(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        weights: Any | None = None,
        *,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> Self:
        """Estimate (r, alpha, a, b) by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T
            Repeat purchases x, time of the last repeat purchase t_x and time observed T, one
            value per customer, in one time unit (e.g. weeks).
        weights
            Number of customers sharing each row (Fader & Hardie fit on such counts);
            default 1 each.
        tol
            Gradient tolerance of the optimiser (scipy's ``trust-exact`` on the
            log-parameters, mean log-likelihood per customer).
        max_iter
            Iteration cap of the optimiser.

        Raises
        ------
        InvalidInput
            On impossible histories (see `shopsense.clv.checks.check_inputs`).
        ConvergenceError
            When the optimiser ends on a non-finite likelihood or parameters, or fails to
            reach a stationary point.
        """
        x = as_vector(frequency, "frequency")
        t_x = as_vector(recency, "recency")
        t_obs = as_vector(T, "T")
        w = np.ones_like(x) if weights is None else as_vector(weights, "weights")
        check_inputs(x, t_x, t_obs, weights=w)
        if not np.any(w > 0):
            raise invalid("all weights are 0", "zero weights", "weights")
        if not np.any(x[w > 0] > 0):
            raise invalid(
                "no customer has a repeat purchase: BG/NBD has no finite estimate",
                "no repeat purchases",
                "frequency",
                len(x),
            )
        if not np.any(t_obs[w > 0] > 0):
            raise invalid(
                "T is 0 for every customer: nothing was observed", "zero T", "T", len(t_obs)
            )

        # Fit on a time scale where the largest T is 1 (as lifetimes does) so that the four
        # log-parameters are of similar size and the penalizer means the same thing.
        scale = 1.0 / float(t_obs[w > 0].max())
        cohort = _Cohort(x, t_x * scale, t_obs * scale, w)
        objective = _Objective(cohort, self.penalizer_coef)
        estimate = maximise(objective, tol, max_iter, "BG/NBD")
        log_params, value = estimate.log_params, estimate.value

        r, alpha, a, b = (float(v) for v in np.exp(log_params))
        self.params_ = {"r": r, "alpha": alpha / scale, "a": a, "b": b}
        penalty = self.penalizer_coef * float(np.sum(np.exp(2.0 * log_params)))
        # Undo the time scaling: each of the x purchase-time densities carries a 1/scale.
        self.log_likelihood_ = -(value - penalty) * cohort.n + float(np.sum(w * x)) * np.log(scale)
        self.n_iter_ = estimate.n_iter
        self.standard_errors_ = standard_errors(
            list(self.params_), self.params_, estimate.log_params_cov
        )
        return self

    def _params(self) -> tuple[float, float, float, float]:
        if self.params_ is None:
            raise NotFitted("BetaGeoModel is not fitted: call fit() first")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _history(
        self, frequency: Any, recency: Any, T: Any
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = as_vector(frequency, "frequency")
        t_x = as_vector(recency, "recency")
        t_obs = as_vector(T, "T")
        check_inputs(x, t_x, t_obs)
        return x, t_x, t_obs

    def _log_odds_dead(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """ln(P(dead) / P(alive)) for customers with x > 0 (garbage where x = 0)."""
        r, alpha, a, b = self._params()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(
                np.log(a)
                - np.log(b + x - 1.0)
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
                dtype=np.float64,
            )

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """P(customer still alive at T | x, t_x, T).

        Fader, Hardie & Lee, "Computing P(alive) using the BG/NBD model" (2008 note):
        1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), evaluated as a logistic of the
        log-odds so that long-silent heavy buyers give 0 instead of overflowing. A customer
        without repeat purchases cannot have dropped out (drop-out follows a repeat
        purchase), so their value is exactly 1.
        """
        x, t_x, t_obs = self._history(frequency, recency, T)
        return np.where(x == 0, 1.0, expit(-self._log_odds_dead(x, t_x, t_obs)))

    def conditional_expected_purchases(
        self,
        t: Any,
        frequency: Any,
        recency: Any,
        T: Any,
    ) -> FloatArray:
        """Expected repeat purchases in (T, T+t] given the history (x, t_x, T): eq. (10).

        E = (a+b+x-1)/(a-1) * [1 - hyp] * P(alive), with ``hyp`` computed through Euler's
        transformation (see `_hyp_term`) and the denominator of eq. (10) written as P(alive).
        ``t`` broadcasts against the customers (e.g. shape (k, 1) gives k horizons per customer).
        """
        r, alpha, a, b = self._params()
        x, t_x, t_obs = self._history(frequency, recency, T)
        horizon = np.asarray(t, dtype=np.float64)
        if np.any(horizon < 0) or not np.all(np.isfinite(horizon)):
            raise invalid("t must be finite and >= 0", "bad horizon", "t")
        alive = np.where(x == 0, 1.0, expit(-self._log_odds_dead(x, t_x, t_obs)))
        hyp = _hyp_term(horizon, x, t_obs, r, alpha, a, b)
        return np.asarray((a + b + x - 1.0) / (a - 1.0) * (1.0 - hyp) * alive, dtype=np.float64)

    # lifetimes' name, which its customer_lifetime_value calls.
    predict = conditional_expected_purchases

    def expected_purchases(self, t: Any) -> FloatArray:
        """Expected repeat purchases in (0, t] of a new customer: eq. (9).

        (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))], the x = 0,
        T = 0 case of eq. (10).
        """
        r, alpha, a, b = self._params()
        horizon = as_vector(t, "t")
        if np.any(horizon < 0) or not np.all(np.isfinite(horizon)):
            raise invalid("t must be finite and >= 0", "bad horizon", "t")
        zero = np.zeros_like(horizon)
        hyp = _hyp_term(horizon, zero, zero, r, alpha, a, b)
        return np.asarray((a + b - 1.0) / (a - 1.0) * (1.0 - hyp), dtype=np.float64)

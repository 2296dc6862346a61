"""The Gamma-Gamma model of spend per transaction.

Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013 note, after Colombo & Jiang
1999 and Fader, Hardie & Lee 2005 "RFM and CLV"). A customer's transactions are worth
z ~ Gamma(p, nu) each, with nu ~ Gamma(q, gamma) across customers; spend is independent of
the purchase process, so the model is fitted on repeat buyers' average spend alone and combined
with a purchase model (BG/NBD) for lifetime value.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
from scipy.special import digamma, gammaln, zeta

from shopsense.clv._optimize import Objective, maximise, standard_errors, weight_per_distinct
from shopsense.clv.base import FittedModel
from shopsense.clv.checks import FloatArray, as_vector, check_inputs, invalid
from shopsense.clv.value import PurchaseModel, customer_lifetime_value
from shopsense.errors import NotFitted

__all__ = ["GammaGammaModel"]


class _Objective(Objective):
    """Mean negative log-likelihood of Gamma-Gamma, with exact gradient and Hessian.

    Per customer (eq. 1a of the note, in logs)::

        LL = ln Gamma(px+q) - ln Gamma(px) - ln Gamma(q) + q ln gamma + (px-1) ln m
             + px ln x - (px+q) ln(x m + gamma)

    The Gamma functions depend on x alone and are evaluated once per distinct x; the rows only
    contribute ln(x m + gamma) and 1/(x m + gamma). Derivatives are with respect to the
    log-parameters.
    """

    n_params = 3

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray, penalizer_coef: float) -> None:
        self.penalizer_coef = penalizer_coef
        self.n = float(w.sum())
        self.ux, self.weight_x = weight_per_distinct(x, w)
        self.xm = x * m
        self.w, self.wx = w, w * x
        log_m = np.log(m)
        self.sum_w_log_m = float(np.sum(w * log_m))
        self.sum_wx_log_xm = float(np.sum(self.wx * (log_m + np.log(x))))
        super().__init__()

    def _compute(self, log_params: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        p, q, gamma = (float(v) for v in np.exp(log_params))
        n, ux, wk = self.n, self.ux, self.weight_x
        px = p * ux
        pxq = px + q
        psi_pxq, tri_pxq = digamma(pxq), zeta(2.0, pxq)

        log_s = np.log(self.xm + gamma)
        inv_s = 1.0 / (self.xm + gamma)
        w, wx = self.w, self.wx
        s_log, sx_log = float(np.sum(w * log_s)), float(np.sum(wx * log_s))
        s_inv, sx_inv = float(np.sum(w * inv_s)), float(np.sum(wx * inv_s))
        inv2 = inv_s * inv_s
        s_inv2, sx_inv2 = float(np.sum(w * inv2)), float(np.sum(wx * inv2))

        ll = float(np.sum(wk * (gammaln(pxq) - gammaln(px))))
        ll += n * (q * np.log(gamma) - gammaln(q))
        # (px-1) ln m + px ln x = p x (ln m + ln x) - ln m
        ll += p * self.sum_wx_log_xm - self.sum_w_log_m - p * sx_log - q * s_log

        g = np.array(
            [
                float(np.sum(wk * ux * (psi_pxq - digamma(px)))) + self.sum_wx_log_xm - sx_log,
                float(np.sum(wk * psi_pxq)) + n * (np.log(gamma) - digamma(q)) - s_log,
                n * q / gamma - p * sx_inv - q * s_inv,
            ]
        )
        h = np.empty((3, 3))
        h[0, 0] = float(np.sum(wk * ux * ux * (tri_pxq - zeta(2.0, px))))
        h[0, 1] = h[1, 0] = float(np.sum(wk * ux * tri_pxq))
        h[0, 2] = h[2, 0] = -sx_inv
        h[1, 1] = float(np.sum(wk * tri_pxq)) - n * zeta(2.0, q)
        h[1, 2] = h[2, 1] = n / gamma - s_inv
        h[2, 2] = -n * q / gamma**2 + p * sx_inv2 + q * s_inv2

        theta = np.array([p, q, gamma])
        pen = self.penalizer_coef
        value = -ll / n + pen * float(np.sum(theta**2))
        grad = -(g * theta) / n + 2.0 * pen * theta**2
        hess = -(h * np.outer(theta, theta) + np.diag(g * theta)) / n
        hess += np.diag(4.0 * pen * theta**2)
        return float(value), grad, hess


class GammaGammaModel(FittedModel):
    """Gamma-Gamma spend model fitted by maximum likelihood, API in the style of ``lifetimes``.

    Parameters
    ----------
    penalizer_coef
        Coefficient of an L2 penalty on (p, q, gamma) added to the mean negative
        log-likelihood, as in ``lifetimes``.

    Attributes
    ----------
    params_
        ``{"p", "q", "gamma"}`` after `fit` (``lifetimes`` calls gamma ``v``).
    log_likelihood_
        Total (weighted, unpenalised) log-likelihood at the estimate.
    n_iter_
        Optimiser iterations.
    standard_errors_
        Asymptotic standard errors of ``params_`` (inverse observed information, delta
        method), as ``lifetimes`` reports them.
    """

    def fit(
        self,
        frequency: Any,
        monetary_value: Any,
        weights: Any | None = None,
        *,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ) -> Self:
        """Estimate (p, q, gamma) from repeat buyers' purchase counts and average spend.

        Parameters
        ----------
        frequency
            Repeat purchases x, each > 0: as in ``lifetimes`` customers without a repeat
            purchase are rejected rather than dropped, so that a forgotten filter shows.
        monetary_value
            Average value of those repeat purchases, each > 0.
        weights
            Number of customers sharing each row; default 1 each.
        tol, max_iter
            Gradient tolerance and iteration cap of the optimiser (``trust-exact``).

        Raises
        ------
        InvalidInput
            On a frequency of 0, a non-positive spend, NaN, mismatched lengths and the like.
        ConvergenceError
            When the optimiser ends on a non-finite likelihood or does not converge.
        """
        x = as_vector(frequency, "frequency")
        m = as_vector(monetary_value, "monetary_value")
        w = np.ones_like(x) if weights is None else as_vector(weights, "weights")
        check_inputs(x, monetary_value=m, weights=w, repeat_only=True)
        keep = w > 0
        if not keep.any():
            raise invalid("all weights are 0", "zero weights", "weights")
        x, m, w = x[keep], m[keep], w[keep]

        objective = _Objective(x, m, w, self.penalizer_coef)
        estimate = maximise(objective, tol, max_iter, "Gamma-Gamma")
        log_params, value = estimate.log_params, estimate.value
        p, q, gamma = (float(v) for v in np.exp(log_params))
        self.params_ = {"p": p, "q": q, "gamma": gamma}
        penalty = self.penalizer_coef * (p * p + q * q + gamma * gamma)
        self.log_likelihood_ = -(value - penalty) * objective.n
        self.n_iter_ = estimate.n_iter
        self.standard_errors_ = standard_errors(
            list(self.params_), self.params_, estimate.log_params_cov
        )
        return self

    def _params(self) -> tuple[float, float, float]:
        if self.params_ is None:
            raise NotFitted("GammaGammaModel is not fitted: call fit() first")
        return self.params_["p"], self.params_["q"], self.params_["gamma"]

    def conditional_expected_average_profit(
        self, frequency: Any, monetary_value: Any
    ) -> FloatArray:
        """Expected value of a customer's future transactions given x and their average m.

        Eq. (5) of the note: a credibility-weighted mean of the population mean
        gamma p / (q - 1) and the customer's own average, with weight p x / (p x + q - 1) on
        the latter. Customers with x = 0 get the population mean (their m is ignored). Needs
        q > 1, else the population mean is infinite.
        """
        p, q, gamma = self._params()
        x = as_vector(frequency, "frequency")
        m = as_vector(monetary_value, "monetary_value")
        check_inputs(x, monetary_value=m)
        own = p * x / (p * x + q - 1.0)
        population = gamma * p / (q - 1.0)
        return np.asarray((1.0 - own) * population + own * np.where(x > 0, m, 0.0))

    expected_average_value = conditional_expected_average_profit

    def customer_lifetime_value(
        self,
        beta_geo_model: PurchaseModel,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary_value: Any,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: Literal["D", "W", "M", "H"] = "D",
    ) -> FloatArray:
        """Discounted value of each customer's next ``time`` months, as ``lifetimes`` computes it.

        The purchase model's expected purchases in each month times this model's expected
        value per purchase, discounted at ``discount_rate`` per month; see
        `shopsense.clv.value.customer_lifetime_value`. ``freq`` is the unit of recency and T.
        """
        expected_value = self.conditional_expected_average_profit(frequency, monetary_value)
        return customer_lifetime_value(
            beta_geo_model,
            frequency,
            recency,
            T,
            expected_value,
            time=time,
            discount_rate=discount_rate,
            freq=freq,
        )

"""Customer lifetime value: BG/NBD purchase counts, Gamma-Gamma spend, discounted value.

Models of Fader, Hardie & Lee with an API in the style of the ``lifetimes`` package, on numpy
and scipy. Typical use::

    summary = summary_from_transactions(orders, "customer_id", "ordered_at", "total",
                                        freq="D", freq_multiplier=7)  # times in weeks
    bgf = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary.filter(pl.col("frequency") > 0)
    ggf = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    clv = ggf.customer_lifetime_value(bgf, summary["frequency"], summary["recency"],
                                      summary["T"], summary["monetary_value"], freq="W")
"""

from shopsense.clv.beta_geo import BetaGeoModel
from shopsense.clv.checks import InvalidInput, check_inputs
from shopsense.clv.gamma_gamma import GammaGammaModel
from shopsense.clv.simulate import BetaGeoSample, simulate_beta_geo, simulate_gamma_gamma
from shopsense.clv.summary import summary_from_transactions
from shopsense.clv.value import PurchaseModel, customer_lifetime_value
from shopsense.errors import ConvergenceError, NotFitted

__all__ = [
    "BetaGeoModel",
    "BetaGeoSample",
    "ConvergenceError",
    "GammaGammaModel",
    "InvalidInput",
    "NotFitted",
    "PurchaseModel",
    "check_inputs",
    "customer_lifetime_value",
    "simulate_beta_geo",
    "simulate_gamma_gamma",
    "summary_from_transactions",
]

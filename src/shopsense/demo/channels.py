"""Marketing channels: how shoppers arrive (utm tags, referrer, leading event) and what the
paid ones cost. Spend is paid per tracked click, at a price per channel set so that the
channel's cost per acquired customer lands on its planted CAC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from shopsense.marketing.spend import SpendIn


@dataclass(frozen=True)
class Channel:
    """``name`` is the signup's ``properties.channel`` and the spend channel; campaign links
    carry ``utm_source`` = ``name``."""

    name: str
    utm_source: str | None
    utm_medium: str | None
    campaigns: tuple[str, ...]
    referrer: str | None
    acquisition_share: float
    target_cac: float  # 0 for channels that cost nothing
    lead_event: str | None = None  # the event a session from this channel starts with


CHANNELS: tuple[Channel, ...] = (
    Channel("google", "google", "cpc", ("search-brand", "search-generic", "shopping"),
            "https://www.google.com/", 0.24, 28.0),
    Channel("facebook", "facebook", "paid_social", ("prospecting", "lookalike"),
            "https://l.facebook.com/", 0.16, 22.0, "ad_click"),
    Channel("instagram", "instagram", "paid_social", ("stories", "reels"),
            "https://l.instagram.com/", 0.08, 34.0, "ad_click"),
    Channel("newsletter", "newsletter", "email", ("weekly", "welcome"), None, 0.07, 3.0,
            "email_click"),
    Channel("organic_search", None, None, (), "https://www.google.com/", 0.22, 0.0),
    Channel("referral", None, None, (), "https://www.pinterest.com/", 0.08, 0.0),
    Channel("direct", None, None, (), None, 0.15, 0.0),
)  # fmt: skip
BY_NAME: dict[str, Channel] = {c.name: c for c in CHANNELS}
PAID = tuple(c.name for c in CHANNELS if c.target_cac > 0)

# Where a returning customer's session comes from; owned channels (push, SMS) cost nothing.
PUSH = Channel(
    "push", "app", "push", ("restock", "weekend-deals"), None, 0.0, 0.0, "push_notification_open"
)
SMS = Channel("sms", "sms", "sms", ("flash-sale",), None, 0.0, 0.0, "sms_click")
RETURNING_SOURCES: tuple[tuple[Channel, float], ...] = (
    (BY_NAME["direct"], 0.3),
    (BY_NAME["organic_search"], 0.2),
    (BY_NAME["newsletter"], 0.16),
    (BY_NAME["google"], 0.11),
    (BY_NAME["facebook"], 0.08),
    (BY_NAME["instagram"], 0.03),
    (BY_NAME["referral"], 0.05),
    (PUSH, 0.05),
    (SMS, 0.02),
)


def acquisition_weights() -> list[float]:
    total = sum(c.acquisition_share for c in CHANNELS)
    return [c.acquisition_share / total for c in CHANNELS]


def cost_per_click(
    clicks: Mapping[tuple[int, str, str], int], acquired: Mapping[str, int]
) -> dict[str, float]:
    """The price per click that makes each paid channel's CAC its target."""
    totals: dict[str, int] = {}
    for (_, channel, _), n in clicks.items():
        totals[channel] = totals.get(channel, 0) + n
    return {
        name: BY_NAME[name].target_cac * acquired.get(name, 0) / totals[name]
        for name in PAID
        if totals.get(name)
    }


def spend_lines(
    clicks: Mapping[tuple[int, str, str], int],
    acquired: Mapping[str, int],
    start: date,
    rng: np.random.Generator,
) -> list[SpendIn]:
    """Daily spend per paid channel and campaign: its clicks at the channel's price per
    click, with day-to-day noise in the auction price."""
    price = cost_per_click(clicks, acquired)
    keys = sorted(clicks)
    noise = rng.lognormal(0.0, 0.15, len(keys))
    return [
        SpendIn(
            date=start + timedelta(days=day),
            channel=channel,
            campaign=campaign,
            amount=round(clicks[day, channel, campaign] * price[channel] * f, 2),
        )
        for (day, channel, campaign), f in zip(keys, noise, strict=True)
    ]

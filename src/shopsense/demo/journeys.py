"""Whole histories: a customer's sessions placed in their habits (days, hours, devices,
channels) from before signup to churn, anonymous visitors who never identify, crawlers, and
the newsletter that keeps reaching subscribers between visits."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from shopsense.demo.catalog import DEPARTMENTS, Catalog, Floats
from shopsense.demo.channels import (
    BY_NAME,
    CHANNELS,
    PUSH,
    RETURNING_SOURCES,
    Channel,
    acquisition_weights,
)
from shopsense.demo.checkout import Order, after_order
from shopsense.demo.devices import DEVICE_CLASSES, Agent, agent_weights, agents
from shopsense.demo.geo import COUNTRIES, Country, country_weights
from shopsense.demo.pages import BASE_URL
from shopsense.demo.sessions import Shopper, Simulator, Visit, arm
from shopsense.demo.timing import Clock
from shopsense.demo.users import HOUR_HABITS, Population

# Share of orders returned and refunded, by department of the dearest item.
RETURN_RATES = {d.name: 0.04 for d in DEPARTMENTS} | {"Fashion": 0.14, "Electronics": 0.07}
DEVICE_SHARES = (0.38, 0.5, 0.12)
MOBILE = DEVICE_CLASSES.index("mobile")
SECONDARY_DEVICE = 0.2  # share of a customer's sessions not on the main device
PREFERRED_WEEKDAY_WEIGHT = 3.0
START_WITHIN = 1800  # sessions start in the first half of their hour (seconds)
EMAIL_WEEKDAY = 3  # the newsletter goes out on Thursdays
EMAIL_OPEN_RATE = 0.25
CHAT_TOPICS = ("shipping", "sizing", "returns", "payment")


class Kinds:
    """Session kinds with their shares, drawn by one uniform number."""

    def __init__(self, **shares: float) -> None:
        self.names = tuple(shares)
        self.cum = list(accumulate(shares.values()))

    def draw(self, py: random.Random) -> str:
        return self.names[bisect_right(self.cum, py.random() * self.cum[-1])]


VISIT_KINDS = Kinds(bounce=0.5, browse=0.37, cart=0.13)
PRE_SIGNUP_KINDS = Kinds(bounce=0.4, browse=0.45, cart=0.15)
VISITOR_KINDS = Kinds(bounce=0.55, browse=0.34, cart=0.09, purchase=0.02)


class Planned(NamedTuple):
    """A session in a customer's plan; sorting plans puts them in time order."""

    day: int
    hour: int
    second: int
    role: str  # "pre" (anonymous, before signup), "signup" or "regular"
    kind: str  # "bounce", "browse", "cart" or "purchase"


@dataclass
class Where:
    """The unchanging part of a customer's context: place and agent per device class."""

    country: Country
    place: int
    agents: list[Agent]
    anonymous: dict[int, str] = field(default_factory=dict)  # device class -> anonymous id
    logged_in: set[int] = field(default_factory=set)  # device classes with a login cookie


class Journeys:
    """Runs every shopper through the simulator, in a fixed order (so a seed fixes all)."""

    def __init__(
        self,
        sim: Simulator,
        population: Population,
        catalog: Catalog,
        clock: Clock,
        preferences: Floats,
        crowd: Floats,
    ) -> None:
        self.sim = sim
        self.py = sim.py
        self.pop = population
        self.catalog = catalog
        self.clock = clock
        self.preferences = preferences
        self.cumulative = np.cumsum(preferences, axis=1)
        self.crowd = crowd.tolist()
        self.crowd_cum = np.cumsum(crowd).tolist()
        self.merged_visitors = 0  # customers whose anonymous history their signup merged
        self.visitors = 0  # anonymous visitors who never identify

    def _anonymous_id(self) -> str:
        return f"{self.py.getrandbits(64):016x}"

    def _hour(self, peak: int) -> int:
        """Mostly the peak hour, else near it, now and then any hour."""
        py = self.py
        r = py.random()
        if r < 0.7:
            return peak
        if r < 0.92:
            return round(py.gauss(peak, 2.5)) % 24
        return py.randrange(24)

    # customers --------------------------------------------------------------------------
    def customer(self, u: int, n_visits: int, n_purchases: int) -> None:
        """Pre-signup anonymous sessions, the signup session, then visits and purchases on
        the customer's preferred weekdays and hours until churn or the end of history."""
        py, pop = self.py, self.pop
        uid = pop.ids[u]
        shopper = Shopper(
            user_id=None,
            cum=self.cumulative[u].tolist(),
            pref=self.preferences[u].tolist(),
            sensitivity=float(pop.price_sensitivity[u]),
            loyalty=float(pop.brand_loyalty[u]),
            favourite_brand=self.catalog.brands[int(pop.favourite_brand[u])],
            variant="treatment" if pop.treatment[u] else "control",
            app=bool(pop.app_user[u]),
        )
        where = Where(
            COUNTRIES[int(pop.country[u])],
            int(pop.place[u]),
            [agents(cls)[int(pop.agent[u, d])] for d, cls in enumerate(DEVICE_CLASSES)],
        )
        last = self._last_day(u)
        limit = self.clock.utc(last + 1, 0, 0)
        main = int(pop.device[u])
        acquisition = CHANNELS[int(pop.channel[u])]
        unsubscribed = int(pop.unsubscribe_day[u])
        subscribed = False
        for n, planned in enumerate(self._plan(u, last, n_visits, n_purchases)):
            device = main
            if planned.role == "regular" and py.random() < SECONDARY_DEVICE:
                device = py.choice([d for d in range(len(DEVICE_CLASSES)) if d != main])
            app = shopper.app and device == MOBILE
            known = planned.role == "regular" and device in where.logged_in
            if n == 0:
                channel, campaign = acquisition, _campaign(py, acquisition, first=True)
            elif planned.role == "regular":
                emailable = subscribed and (unsubscribed < 0 or planned.day < unsubscribed)
                channel = self._returning_source(emailable, app)
                campaign = _campaign(py, channel, first=False)
            else:
                channel, campaign = BY_NAME["direct"], None
            anon = where.anonymous.setdefault(device, self._anonymous_id())
            visit = self._visit(
                where.agents[device],
                where.country,
                where.place,
                anon,
                uid if known else None,
                planned,
                limit,
                channel,
                campaign,
                app=app,
            )
            landed = self.sim.landing(visit, shopper, planned.day)
            if planned.role == "signup":
                shopper.user_id = uid
                visit.identify(uid)
                visit.emit(
                    "signup",
                    py.expovariate(1 / 60),
                    "/account/register",
                    properties={"channel": acquisition.name, "method": "email"},
                )
                where.logged_in.add(device)
                if pop.subscriber[u]:
                    subscribed = True
                    visit.emit("newsletter_subscribe", 4.0, None, properties={"source": "signup"})
            elif (
                not known
                and planned.role == "regular"
                and (planned.kind != "bounce" or py.random() < 0.3)
            ):
                visit.identify(uid)
                visit.emit(
                    "login",
                    py.expovariate(1 / 20),
                    "/account/login",
                    properties={"method": "password"},
                )
                where.logged_in.add(device)
            order = self._session_body(visit, shopper, planned.day, planned.kind, landed)
            if visit.context["user_id"] is not None and visit.alive:
                self._account(visit, where, device)
            if order is not None:
                after_order(self.sim, order, self._return_rate(order))
            self._after_bought_at_once()
        if pop.pre_signup_sessions[u] > 0:
            self.merged_visitors += 1
        self._newsletter(u, last, where.country, where.place, where.agents[main])

    def _last_day(self, u: int) -> int:
        churn = int(self.pop.churn_day[u])
        return churn if churn >= 0 else self.clock.days - 1

    def _plan(self, u: int, last: int, n_visits: int, n_purchases: int) -> list[Planned]:
        """The customer's sessions in time order: anonymous ones in the two weeks before
        signup, the signup session, then visits and purchases on weekdays weighted to the
        customer's preferred ones."""
        py, pop, clock = self.py, self.pop, self.clock
        signup = int(pop.signup_day[u])
        peak = int(pop.peak_hour[u])
        plan = [
            Planned(
                max(0, signup - py.randint(1, 14)),
                self._hour(peak),
                py.randrange(START_WITHIN),
                "pre",
                PRE_SIGNUP_KINDS.draw(py),
            )
            for _ in range(int(pop.pre_signup_sessions[u]))
        ]
        buys_at_signup = n_purchases > 0 and py.random() < 0.3
        signup_kind = "purchase" if buys_at_signup else py.choice(("browse", "browse", "cart"))
        if last > signup:
            preferred = pop.weekdays[u]
            cum = list(
                accumulate(
                    PREFERRED_WEEKDAY_WEIGHT if w in preferred else 1.0
                    for w in clock.weekdays[signup + 1 : last + 1]
                )
            )
            kinds = ["purchase"] * (n_purchases - buys_at_signup) + [""] * n_visits
            for kind in kinds:
                day = signup + 1 + bisect_right(cum, py.random() * cum[-1])
                plan.append(
                    Planned(
                        min(day, last),
                        self._hour(peak),
                        py.randrange(START_WITHIN),
                        "regular",
                        kind or VISIT_KINDS.draw(py),
                    )
                )
        plan.sort()
        before = sum(1 for p in plan if p.day < signup)
        plan.insert(
            before,
            Planned(signup, self._hour(peak), py.randrange(START_WITHIN), "signup", signup_kind),
        )
        return plan

    def _session_body(
        self, visit: Visit, shopper: Shopper, day: int, kind: str, landed: int | None
    ) -> Order | None:
        py = self.py
        if kind == "bounce":
            self.sim.bounce(visit, shopper, day, landed)
            return None
        order = self.sim.shop(visit, shopper, day, kind, landed)
        if py.random() < 0.015:
            visit.emit(
                "chat_started",
                py.expovariate(1 / 30),
                None,
                properties={"topic": py.choice(CHAT_TOPICS)},
            )
        return order

    def _account(self, visit: Visit, where: Where, device: int) -> None:
        """Now and then a profile update; sometimes a logout, so the next session on that
        device starts anonymous and logs in again."""
        py = self.py
        if py.random() < 0.01:
            field_name = py.choice(("address", "phone", "name"))
            visit.emit(
                "profile_update",
                py.expovariate(1 / 30),
                "/account",
                properties={"fields": [field_name]},
            )
        if py.random() < 0.05:
            visit.emit("logout", py.expovariate(1 / 20), "/account/logout")
            where.logged_in.discard(device)

    def _returning_source(self, emailable: bool, app: bool) -> Channel:
        allowed = [
            (c, w)
            for c, w in RETURNING_SOURCES
            if (c.name != "newsletter" or emailable) and (c is not PUSH or app)
        ]
        return self.py.choices([c for c, _ in allowed], [w for _, w in allowed])[0]

    def _after_bought_at_once(self) -> None:
        """What follows the orders of recommendations bought at once in the session just
        run, drawn like the purchases themselves from the simulator's ``response``."""
        sim = self.sim
        for order in sim.bought_at_once:
            after_order(sim, order, self._return_rate(order), sim.response)
        sim.bought_at_once.clear()

    def _return_rate(self, order: Order) -> float:
        dearest = max(order.items, key=lambda i: float(i["price"]))
        j = self.sim.index[dearest["product_id"]]
        return RETURN_RATES[DEPARTMENTS[int(self.catalog.department[j])].name]

    def _visit(
        self,
        agent: Agent,
        country: Country,
        place: int,
        anonymous_id: str,
        user_id: str | None,
        planned: Planned,
        limit: datetime,
        channel: Channel,
        campaign: str | None,
        *,
        app: bool,
    ) -> Visit:
        """A new session: its context, the entry fields of its channel and the channel's
        leading event (an ad, email, push or SMS click) when it has one."""
        sim = self.sim
        context = sim.context(agent, country, place, anonymous_id, user_id, sim.session_id())
        entry = sim.entry(channel, planned.day, campaign)
        if app:
            entry["referrer"] = None
        start = self.clock.utc(planned.day, planned.hour, planned.second)
        visit = Visit(sim, context, start, limit, entry, app)
        if channel.lead_event is not None and campaign is not None:
            visit.emit(channel.lead_event, 0.0, None, properties={"campaign": campaign})
        return visit

    def _newsletter(self, u: int, last: int, country: Country, place: int, agent: Agent) -> None:
        """Weekly newsletter opens while subscribed, and the unsubscribe, if any."""
        pop, py, clock = self.pop, self.py, self.clock
        if not pop.subscriber[u]:
            return
        context = self.sim.context(agent, country, place, None, pop.ids[u], None)
        peak = int(pop.peak_hour[u])
        unsubscribed = int(pop.unsubscribe_day[u])
        stop = min(last, unsubscribed - 1) if unsubscribed >= 0 else last
        for day in range(int(pop.signup_day[u]) + 1, stop + 1):
            if clock.weekdays[day] != EMAIL_WEEKDAY or py.random() >= EMAIL_OPEN_RATE:
                continue
            stamp = clock.utc(day, self._hour(peak), py.randrange(3600))
            week = (clock.start + timedelta(days=day)).isocalendar()
            campaign = f"weekly-{week.year}-{week.week:02d}"
            self.sim.row("email_open", stamp, context, {"properties": {"campaign": campaign}})
        if 0 <= unsubscribed <= last:
            stamp = clock.utc(unsubscribed, self._hour(peak), py.randrange(3600))
            page = "/newsletter/unsubscribe"
            self.sim.row(
                "newsletter_unsubscribe",
                stamp,
                context,
                {"page_path": page, "page_url": BASE_URL + page},
            )

    # anonymous visitors and crawlers ----------------------------------------------------
    def visitor(self) -> None:
        """Someone who never signs up: one or a few sessions, mostly bounces, rarely a
        guest checkout."""
        self.visitors += 1
        py, clock = self.py, self.clock
        country = py.choices(COUNTRIES, country_weights())[0]
        place = py.randrange(len(country.places))
        cls = py.choices(DEVICE_CLASSES, DEVICE_SHARES)[0]
        agent = py.choices(agents(cls), agent_weights(cls))[0]
        shopper = Shopper(None, self.crowd_cum, self.crowd, sensitivity=py.random())
        anon = self._anonymous_id()
        shopper.variant = arm(anon)  # (customers have theirs among their planted traits)
        hours = py.choices([h for _, h in HOUR_HABITS], [w for w, _ in HOUR_HABITS])[0]
        peak = py.choice(hours)
        n = 1
        while n < 5 and py.random() < 0.3:
            n += 1
        acquisition = py.choices(CHANNELS, acquisition_weights())[0]
        for k, day in enumerate(sorted(py.randrange(clock.days) for _ in range(n))):
            if k == 0:
                channel, campaign = acquisition, _campaign(py, acquisition, first=True)
            else:
                channel, campaign = py.choice((BY_NAME["direct"], BY_NAME["organic_search"])), None
            planned = Planned(day, self._hour(peak), py.randrange(START_WITHIN), "pre", "")
            visit = self._visit(
                agent, country, place, anon, None, planned, clock.end, channel, campaign, app=False
            )
            landed = self.sim.landing(visit, shopper, day)
            kind = VISITOR_KINDS.draw(py)
            order = self._session_body(visit, shopper, day, kind, landed)
            if kind != "bounce" and py.random() < 0.01:
                visit.emit("newsletter_subscribe", 10.0, None, properties={"source": "footer"})
            if order is not None:
                after_order(self.sim, order, self._return_rate(order))
            self._after_bought_at_once()

    def crawler(self, agent: Agent) -> None:
        """A bot that crawls category and product pages every few days, without cookies."""
        py, clock, sim = self.py, self.clock, self.sim
        home = COUNTRIES[0]
        for day in range(clock.days):
            if py.random() >= 0.35:
                continue
            context = sim.context(agent, home, 0, self._anonymous_id(), None, sim.session_id())
            context |= {"locale": None, "timezone": None, "region": None, "city": None}
            sim.bot_sessions += 1
            start = clock.utc(day, py.randrange(24), py.randrange(3000))
            visit = Visit(sim, context, start, clock.end, {}, app=False)
            for _ in range(py.randint(8, 30)):
                j = py.randrange(self.catalog.size)
                if py.random() < 0.3:
                    visit.emit("page_view", py.uniform(1, 5), sim.category_page_of(j))
                else:
                    visit.emit("product_view", py.uniform(1, 5), sim.pages[j], **sim.info[j])


def _campaign(py: random.Random, channel: Channel, *, first: bool) -> str | None:
    """The campaign of a session from ``channel``: returning paid-social traffic is
    retargeting, the newsletter's first click is the welcome mail."""
    if not channel.campaigns:
        return None
    if channel.name in ("facebook", "instagram") and not first:
        return "retargeting"
    if channel.name == "newsletter":
        return "welcome" if first else "weekly"
    return py.choice(channel.campaigns)

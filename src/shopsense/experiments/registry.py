"""Experiments as stored: create, list, read, stop (and declare a winner).

A variant is a name, a recommendation strategy and a weight: ``A=strategy:hybrid`` or
``B=strategy:popular,weight:2`` on the command line, the same fields over the API. Units
(the user id, else the anonymous id, else the session id) are assigned by hashing, so no
assignment is stored; the ``holdout`` share gets no personalization (popularity only) and
``traffic`` is the share of the other units that enter the experiment at all.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, select, update

from shopsense.db.models import experiment_table as E
from shopsense.errors import NotFound, ShopsenseError, ValidationFailed
from shopsense.experiments.stats import HOLDOUT, planned_sample_size

STRATEGIES = (
    "auto", "hybrid", "personalized", "collaborative", "content", "popular", "trending",
    "similar_items",
)  # fmt: skip
HOLDOUT_STRATEGY = "popular"  # what the holdout gets: no personalization
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class Conflict(ShopsenseError):
    status = 409
    title = "Conflict"


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NAME.pattern)]
    strategy: Literal[
        "auto", "hybrid", "personalized", "collaborative", "content", "popular", "trending",
        "similar_items",
    ]  # fmt: skip
    weight: float = Field(default=1.0, gt=0.0, le=1000.0)

    @field_validator("name")
    @classmethod
    def _not_holdout(cls, value: str) -> str:
        if value == HOLDOUT:
            raise ValueError(f"{HOLDOUT!r} is the holdout group's name")
        return value


class ExperimentIn(BaseModel):
    """``POST /experiments``: at least two variants, the first the control."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=NAME.pattern)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    variants: list[Variant] = Field(min_length=2, max_length=10)
    traffic: float = Field(default=1.0, gt=0.0, le=1.0)
    holdout: float = Field(default=0.0, ge=0.0, lt=1.0)
    metric: Literal["ctr", "conversion", "revenue_per_user"] = "ctr"
    baseline_rate: float | None = Field(
        default=None, gt=0.0, lt=1.0, description="Expected control rate, for the planned size."
    )
    minimum_effect: float = Field(
        default=0.1, gt=0.0, le=10.0, description="Smallest relative lift worth detecting."
    )

    @model_validator(mode="after")
    def _distinct(self) -> ExperimentIn:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be distinct")
        return self


def parse_variant(text: str) -> Variant:
    """``A=strategy:hybrid[,weight:2]`` as a Variant."""
    name, sep, rest = text.partition("=")
    fields: dict[str, Any] = {"name": name.strip()}
    for part in rest.split(",") if sep else []:
        key, colon, value = part.partition(":")
        if not colon:
            raise ValidationFailed(f"variant {text!r}: expected NAME=strategy:S[,weight:W]")
        fields[key.strip()] = value.strip()
    if not sep or "strategy" not in fields:
        raise ValidationFailed(f"variant {text!r}: expected NAME=strategy:S[,weight:W]")
    try:
        return Variant.model_validate(fields)
    except ValueError as exc:
        raise ValidationFailed(f"variant {text!r}: {exc}") from None


def create(conn: Connection, spec: ExperimentIn, now: datetime) -> dict[str, Any]:
    """Store and start ``spec``; 409 if the name is taken."""
    if conn.execute(select(E.c.name).where(E.c.name == spec.name)).first() is not None:
        raise Conflict(f"an experiment named {spec.name!r} exists")
    planned = None
    if spec.baseline_rate is not None and spec.metric in ("ctr", "conversion"):
        planned = planned_sample_size(
            spec.baseline_rate, spec.minimum_effect, variants=len(spec.variants)
        )
    row = {
        "name": spec.name,
        "description": spec.description,
        "status": "running",
        "variants": [v.model_dump() for v in spec.variants],
        "traffic": spec.traffic,
        "holdout": spec.holdout,
        "metric": spec.metric,
        "baseline_rate": spec.baseline_rate,
        "minimum_effect": spec.minimum_effect,
        "planned_users": planned,
        "started_at": now,
        "stopped_at": None,
        "winner": None,
    }
    conn.execute(E.insert(), [row])
    return row


def get(conn: Connection, name: str) -> dict[str, Any]:
    row = conn.execute(select(E).where(E.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no experiment {name!r}")
    return dict(row)


def listed(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(E).order_by(E.c.started_at.desc())).mappings()]


def running(conn: Connection) -> list[dict[str, Any]]:
    """Running experiments, the newest first (a request is in at most one: the newest that
    takes it)."""
    rows = conn.execute(
        select(E).where(E.c.status == "running").order_by(E.c.started_at.desc(), E.c.name)
    ).mappings()
    return [dict(r) for r in rows]


def stop(conn: Connection, name: str, now: datetime, winner: str | None = None) -> dict[str, Any]:
    """Stop ``name`` (its answers then use ``auto`` again), optionally naming the winner."""
    row = get(conn, name)
    if row["status"] != "running":
        raise Conflict(f"experiment {name!r} is already stopped")
    names = [v["name"] for v in row["variants"]]
    if winner is not None and winner not in names:
        raise ValidationFailed(
            f"winner {winner!r} is not a variant of {name!r} ({', '.join(names)})",
            errors=[{"loc": ["body", "winner"], "msg": "not a variant of this experiment"}],
        )
    conn.execute(
        update(E).where(E.c.name == name).values(status="stopped", stopped_at=now, winner=winner)
    )
    return get(conn, name)


__all__ = [
    "HOLDOUT_STRATEGY",
    "STRATEGIES",
    "Conflict",
    "ExperimentIn",
    "Variant",
    "create",
    "get",
    "listed",
    "parse_variant",
    "running",
    "stop",
]

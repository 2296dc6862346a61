"""Experiments over the secret-key API: create, list, read out, stop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from shopsense.api.body import read_json, validated
from shopsense.api.deps import DbDep, SecretKey, SettingsDep
from shopsense.api.params import answer
from shopsense.clock import utcnow
from shopsense.experiments import registry
from shopsense.experiments.attribution import Windows
from shopsense.experiments.results import experiment_results

router = APIRouter(tags=["experiments"])


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: str | None = Field(default=None, max_length=100, description="The winning variant.")


@router.post("/experiments", status_code=201)
async def create_experiment(
    request: Request, _: SecretKey, db: DbDep, settings: SettingsDep
) -> Any:
    """Start an A/B experiment on recommendations: ``variants`` (the first is the control),
    each a ``strategy`` and a ``weight``; ``traffic`` (share of units in it) and ``holdout``
    (share that gets no personalization). Units are assigned by hashing the user id (else
    anonymous id, else session id), so the same shopper always sees the same variant;
    ``POST /analytics/recommendations`` with strategy ``auto`` applies it and reports it."""
    spec = validated(registry.ExperimentIn, await read_json(request, settings.max_body_bytes))

    def write() -> dict[str, Any]:
        with db.write() as conn:
            return registry.create(conn, spec, utcnow())

    return answer(await run_in_threadpool(write))


@router.get("/experiments")
def list_experiments(_: SecretKey, db: DbDep) -> Any:
    with db.read() as conn:
        return answer({"experiments": registry.listed(conn)})


@router.get("/experiments/{name}")
async def read_experiment(name: str, _: SecretKey, db: DbDep, settings: SettingsDep) -> Any:
    """Per variant: users, impressions, CTR, conversion and revenue per user with intervals
    and p-values against the control (fixed-horizon and always-valid), the sample-ratio
    check and whether the planned sample size is reached (docs/metrics.md)."""
    windows = Windows.from_settings(settings)
    return answer(
        await run_in_threadpool(experiment_results, db, name, now=utcnow(), windows=windows)
    )


@router.post("/experiments/{name}/stop")
async def stop_experiment(
    name: str, request: Request, _: SecretKey, db: DbDep, settings: SettingsDep
) -> Any:
    """Stop the experiment (answers go back to ``auto``), optionally declaring a winner."""
    raw = await read_json(request, settings.max_body_bytes) if await request.body() else {}
    body = validated(StopIn, raw)

    def write() -> dict[str, Any]:
        with db.write() as conn:
            return registry.stop(conn, name, utcnow(), body.winner)

    return answer(await run_in_threadpool(write))

"""The FastAPI application: routers, error mapping, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shopsense import __version__
from shopsense.api import problems
from shopsense.api.metrics import MetricsMiddleware
from shopsense.api.routes import (
    bundles,
    catalog,
    dashboard,
    experiments,
    ops,
    performance,
    privacy,
    profiles,
    profit,
    recommendations,
    tracking,
    ui,
)
from shopsense.bundles.engine import BundleAutomationEngine
from shopsense.bundles.request import BundleRequest
from shopsense.catalog import ProductIn
from shopsense.db.session import Database
from shopsense.marketing.spend import SpendIn
from shopsense.recommend.engine import PersonalizationEngine
from shopsense.recommend.request import RecommendationRequest
from shopsense.recommend.training import Retrainer
from shopsense.settings import Settings, get_settings
from shopsense.tracking.schema import Event


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Scheduled retraining (when configured) runs while the app does."""
    engine: PersonalizationEngine = app.state.personalization
    retrainer = Retrainer(app.state.db, app.state.settings, on_trained=engine.expire)
    retrainer.start()
    try:
        yield
    finally:
        retrainer.stop()


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """An app bound to ``db`` (default: the one the settings name)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="shopsense",
        version=__version__,
        description="Tracking, catalog, personalization and analytics for online shops.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.db = db or Database.from_settings(settings)
    app.state.personalization = PersonalizationEngine(app.state.db, settings)
    app.state.bundles = BundleAutomationEngine(app.state.db, settings)
    problems.install(app)
    app.add_middleware(MetricsMiddleware)
    for router in (
        tracking.router,
        catalog.router,
        profiles.router,
        recommendations.router,
        bundles.router,
        performance.router,
        experiments.router,
        profit.router,
        dashboard.router,
        privacy.router,
        ops.router,
        ui.router,
    ):
        app.include_router(router)
    _document_raw_bodies(app)
    return app


def _document_raw_bodies(app: FastAPI) -> None:
    """Bodies read raw (for the size limits) still appear with their schema in /docs."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (Event, ProductIn, SpendIn, RecommendationRequest, BundleRequest):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

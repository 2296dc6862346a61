"""The ``shopsense`` command line: serve, demo, db, keys, import, generate, profiles, train,
recommend, evaluate, bundles."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from shopsense.db.session import Database
from shopsense.importers.summary import ImportSummary
from shopsense.progress import Reporter, rich_reporter
from shopsense.settings import Settings, get_settings

app = typer.Typer(help="shopsense: personalization and analytics for online shops.")
db_app = typer.Typer(help="Database schema.")
keys_app = typer.Typer(help="API keys (only their hashes are stored).")
import_app = typer.Typer(help="Import data into the event store.")
profiles_app = typer.Typer(help="Customer profiles, value and segments.")
bundles_app = typer.Typer(help="Association rules and bundles.")
experiments_app = typer.Typer(help="A/B experiments on recommendations.")
report_app = typer.Typer(help="Reports.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")
app.add_typer(profiles_app, name="profiles")
app.add_typer(bundles_app, name="bundles")
app.add_typer(experiments_app, name="experiments")
app.add_typer(report_app, name="report")
console = Console()


def _database(settings: Settings) -> Database:
    from shopsense.db.migrate import upgrade

    upgrade(settings.database_url)
    return Database.from_settings(settings)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema of SHOPSENSE_DATABASE_URL to the newest revision."""
    from shopsense.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    console.print(f"database at {_safe_url(settings.database_url)} is up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@keys_app.command("create")
def keys_create(
    scope: Annotated[str, typer.Option(help="write (browser-safe) or secret (everything)")],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by")] = None,
) -> None:
    """Create a key and print it once."""
    from shopsense.auth.keys import SCOPES, create_key

    if scope not in SCOPES:
        raise typer.BadParameter(f"scope must be one of {', '.join(SCOPES)}")
    db = _database(get_settings())
    with db.write() as conn:
        key = create_key(conn, scope, name)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys by prefix, scope and state."""
    from shopsense.auth.keys import list_keys

    db = _database(get_settings())
    with db.read() as conn:
        keys = list_keys(conn)
    table = Table("id", "prefix", "scope", "name", "created (UTC)", "revoked (UTC)")
    for k in keys:
        table.add_row(
            str(k.id),
            k.prefix + "…",
            k.scope,
            k.name or "",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key, its printed prefix or id")],
) -> None:
    """Revoke a key; it stops working at once."""
    from shopsense.auth.keys import revoke_key
    from shopsense.errors import NotFound

    db = _database(get_settings())
    try:
        with db.write() as conn:
            n = revoke_key(conn, key.rstrip("…"))
    except NotFound as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    console.print(f"revoked {n} key(s)")


def _run_import(run: Callable[[Database, Settings, Reporter], ImportSummary]) -> None:
    """Migrate, run one importer with progress bars, print what it did."""
    settings = get_settings()
    db = _database(settings)
    with rich_reporter() as reporter:
        summary = run(db, settings, reporter)
    _print_summary(summary)


def _print_summary(summary: ImportSummary) -> None:
    table = Table("what", "count")
    for key, value in summary.counts.items():
        table.add_row(key, f"{value:,}")
    table.add_row("rejected", f"{len(summary.rejected):,}")
    console.print(table)
    for r in summary.rejected[:10]:
        console.print(f"[yellow]rejected {r}[/yellow]")
    console.print(f"done in {summary.seconds:.1f} s")


@import_app.command("online-retail")
def import_online_retail_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .csv.gz")],
) -> None:
    """Import the UCI Online Retail file: products, customers, orders and refunds."""
    from shopsense.importers.online_retail import import_online_retail

    _run_import(lambda db, s, r: import_online_retail(db, path, settings=s, reporter=r))


@import_app.command("events")
def import_events_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON lines")],
) -> None:
    """Import contract events, one JSON object a line, with the API's validation."""
    from shopsense.importers.events import import_events

    _run_import(lambda db, s, r: import_events(db, path, settings=s, reporter=r))


@import_app.command("orders")
def import_orders_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, a line an item")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="column=field, e.g. 'Order Number=order_id'"),
    ] = None,
) -> None:
    """Import any shop's order export; columns are mapped to order fields with --map."""
    from shopsense.importers.orders import import_orders, parse_mapping

    mapping = parse_mapping(map_ or [])
    _run_import(lambda db, s, r: import_orders(db, path, mapping, settings=s, reporter=r))


@import_app.command("spend")
def import_spend_cmd(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV")],
) -> None:
    """Import marketing spend: columns date, channel, campaign, amount."""
    from shopsense.importers.spend import import_spend

    _run_import(lambda db, _s, r: import_spend(db, path, reporter=r))


@profiles_app.command("rebuild")
def profiles_rebuild(
    as_of: Annotated[
        str | None, typer.Option(help="ISO date or datetime (UTC); default now")
    ] = None,
) -> None:
    """Recompute every profile, the CLV models and the segments, set-based."""
    from shopsense.api.params import parse_as_of
    from shopsense.profiles import ProfileEngine

    settings = get_settings()
    engine = ProfileEngine(_database(settings), settings)
    with rich_reporter() as reporter:
        summary = engine.rebuild(parse_as_of(as_of), reporter=reporter)
    models = summary.value_models
    console.print(
        f"{summary.users:,} profiles ({summary.buyers:,} buyers) "
        f"as of {summary.as_of:%Y-%m-%d %H:%M} in {summary.seconds:.1f} s"
    )
    fitted = (
        ("BG/NBD", models.beta_geo),
        ("Gamma-Gamma", models.gamma_gamma),
        ("BG/NBD on active days", models.activity),
    )
    for name, params in fitted:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in params.items()) if params else "not fitted"
        console.print(f"  {name}: {shown}")


@app.command("train")
def train_cmd(
    as_of: Annotated[
        str | None, typer.Option(help="ISO date or datetime (UTC); default now")
    ] = None,
) -> None:
    """Fit every recommender on the interactions and save them as a new model version under
    SHOPSENSE_MODELS_DIR; a running server serves it within seconds, without a restart."""
    from shopsense.api.params import parse_as_of
    from shopsense.recommend.training import train

    settings = get_settings()
    db = _database(settings)
    with rich_reporter() as reporter:
        path = train(db, settings, parse_as_of(as_of), reporter=reporter)
    _print_version(path)


def _print_version(path: Path) -> None:
    from shopsense.recommend.artifacts import read_metadata

    meta = read_metadata(path)
    sizes = meta["sizes"]
    console.print(f"model version {meta['version']} in {path}")
    console.print(
        f"  {sizes['users']:,} users, {sizes['items']:,} items, "
        f"{sizes['interactions']:,} user-item pairs from {sizes['events']:,} events "
        f"as of {meta['as_of'][:16].replace('T', ' ')}"
    )
    for name, info in meta["models"].items():
        console.print(f"  {name:<16} {info['fit_seconds']:6.2f} s")
    for name, why in meta["skipped"].items():
        console.print(f"  [yellow]{name:<16} skipped: {why}[/yellow]")
    console.print(f"done in {meta['seconds']:.1f} s")


def _ground_truth_path(settings: Settings, given: Path | None) -> Path:
    if given is not None:
        return given
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).resolve().parent / "ground_truth.json"
    return Path.cwd() / "ground_truth.json"


@app.command()
def generate(
    users: Annotated[int, typer.Option(min=1, help="Customers")] = 10_000,
    products: Annotated[int, typer.Option(min=10, help="Catalog size")] = 500,
    days: Annotated[int, typer.Option(min=1, help="Days of history")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same store)")] = 42,
    ground_truth: Annotated[Path | None, typer.Option(help="Where to write the truth")] = None,
) -> None:
    """Generate a demo store with planted, known traits into the configured database."""
    from shopsense.demo.generator import StoreSpec, generate_store

    settings = get_settings()
    db = _database(settings)
    spec = StoreSpec(users=users, products=products, days=days, seed=seed)
    with rich_reporter() as reporter:
        truth = generate_store(db, spec, settings=settings, reporter=reporter)
    out = _ground_truth_path(settings, ground_truth)
    out.write_text(json.dumps(truth, indent=1, default=str))
    console.print(f"store generated; ground truth written to {out}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default SHOPSENSE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default SHOPSENSE_PORT, 8080)")] = None,
) -> None:
    """Run the HTTP server."""
    settings = get_settings()
    _serve(settings, _database(settings), host or settings.host, port or settings.port)


def _serve(settings: Settings, db: Database, host: str, port: int) -> None:
    import uvicorn

    from shopsense.api.app import create_app
    from shopsense.api.metrics import configure_logging
    from shopsense.clock import utcnow
    from shopsense.dashboard.warm import warm_in_background

    configure_logging(settings.log_json)
    app = create_app(settings, db)
    if settings.dashboard_cache_seconds > 0:  # first visits answered from the cache
        warm_in_background(db, settings, utcnow())
    uvicorn.run(app, host=host, port=port, access_log=False)


@app.command()
def demo(
    users: Annotated[int, typer.Option(min=1)] = 3_000,
    products: Annotated[int, typer.Option(min=10)] = 400,
    days: Annotated[int, typer.Option(min=1)] = 90,
    seed: Annotated[int, typer.Option()] = 42,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    serve_: Annotated[bool, typer.Option("--serve/--no-serve", help="Start the server")] = True,
) -> None:
    """Generate a demo store into the database if it is empty, rebuild the profiles and CLV
    models, train the recommenders, then start the server and print its URLs and keys."""
    from shopsense.auth.keys import create_key
    from shopsense.db.models import activity_table
    from shopsense.demo.generator import StoreSpec, generate_store

    settings = get_settings()
    db = _database(settings)
    with db.read() as conn:
        events = conn.execute(select(func.count()).select_from(activity_table)).scalar_one()
    if events == 0:
        console.print(
            f"generating a demo store: {users:,} users, {products:,} products, {days} days"
        )
        spec = StoreSpec(users=users, products=products, days=days, seed=seed)
        with rich_reporter() as reporter:
            truth = generate_store(db, spec, settings=settings, reporter=reporter)
        out = _ground_truth_path(settings, None)
        out.write_text(json.dumps(truth, indent=1, default=str))
    else:
        console.print(f"the database already holds {events:,} events; generation skipped")
    from shopsense.bundles.rules import mine
    from shopsense.profiles import ProfileEngine
    from shopsense.recommend.training import train

    with rich_reporter() as reporter:
        ProfileEngine(db, settings).rebuild(reporter=reporter)
        version = train(db, settings, reporter=reporter)
        mine(db, settings, reporter=reporter)
    _show_examples(db, settings)
    if settings.write_key and settings.secret_key:
        write_key = settings.write_key.get_secret_value()
        secret_key = settings.secret_key.get_secret_value()
    else:
        with db.write() as conn:
            write_key = create_key(conn, "write", "demo")
            secret_key = create_key(conn, "secret", "demo")
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    with db.read() as conn:
        last = conn.execute(select(func.max(activity_table.c.timestamp))).scalar_one()
    from shopsense.clock import utcnow

    end = (last or utcnow()).date() + timedelta(days=1)
    period = f"from={end - timedelta(days=30)}&to={end}"  # the store's last 30 days
    lines = [
        f"\nshopsense demo at {base}",
        f"  dashboard     {base}/ui/?{period}  (sign in with the secret key)",
        f"  overview JSON {base}/dashboard/overview?{period}",
        f"  API docs      {base}/docs",
        f"  health        {base}/health",
        f"  metrics       {base}/metrics",
        f"  a profile     {base}/analytics/user-profile/U00001",
        f"  segments      {base}/analytics/user-segments",
        f"  recommend     POST {base}/analytics/recommendations",
        f"  bundles       POST {base}/analytics/bundles",
        f"  performance   {base}/analytics/recommendation-performance?group_by=strategy,variant",
        f"  bundle perf.  {base}/analytics/bundle-performance",
        f"  experiments   {base}/experiments",
        f"  models        {version}",
        f"  write key     {write_key}",
        f"  secret key    {secret_key}",
        f"\ntry: curl -s -H 'Authorization: Bearer {secret_key}' "
        f"{base}/analytics/user-profile/U00001",
        f"     curl -s -H 'Authorization: Bearer {write_key}' "
        f"-H 'Content-Type: application/json' -d '{{\"user_id\": \"U00001\"}}' "
        f"{base}/analytics/recommendations",
    ]
    typer.echo("\n".join(lines))
    if serve_:
        _serve(settings, db, host, port)


def _show_recommendations(title: str, answer: dict[str, Any]) -> None:
    table = Table(title=f"{title}: strategy {answer['strategy']}", title_justify="left")
    for column in ("rank", "product", "name", "price", "reason"):
        table.add_column(column, justify="right" if column in ("rank", "price") else "left")
    for item in answer["items"]:
        reason = item["reason"]
        detail = f" ({reason['detail']})" if reason.get("detail") else ""
        table.add_row(
            str(item["rank"]), item["product_id"], item["name"] or "",
            f"{item['price']:.2f}" if item["price"] is not None else "", reason["kind"] + detail,
        )  # fmt: skip
    console.print(table)


def _show_examples(db: Database, settings: Settings) -> None:
    """One answer of each kind on the store's own data, reasons included."""
    from shopsense.recommend.engine import PersonalizationEngine
    from shopsense.recommend.examples import example_requests

    engine = PersonalizationEngine(db, settings)
    with db.read() as conn:
        requests = example_requests(conn)
    for title, request in requests.items():
        _show_recommendations(title, engine.recommend(request))
    from shopsense.bundles.engine import BundleAutomationEngine
    from shopsense.recommend.examples import example_bundle_request

    with db.read() as conn:
        bundle_request = example_bundle_request(conn)
    if bundle_request is not None:
        title, body = bundle_request
        _show_bundles(title, BundleAutomationEngine(db, settings).bundles(body))
    _show_measurement(db)


def _show_measurement(db: Database) -> None:
    """What the store's recommendations earned, and the newest experiments' read-outs."""
    from shopsense.clock import utcnow
    from shopsense.db.models import activity_table
    from shopsense.experiments import registry
    from shopsense.experiments.performance import recommendation_performance
    from shopsense.experiments.results import experiment_results

    with db.read() as conn:
        experiments = registry.listed(conn)[:3]
        first = conn.execute(select(func.min(activity_table.c.timestamp))).scalar()
    if first is None:
        return
    now = utcnow()
    report = recommendation_performance(db, first, now, ["strategy"], now=now)
    table = Table(title="recommendations since the first event", title_justify="left")
    for column in ("strategy", "views", "clicks", "CTR", "conversions", "revenue"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for row in report["groups"]:
        table.add_row(
            row["strategy"], f"{row['impressions']:,}", f"{row['clicks']:,}",
            f"{row['ctr'] or 0:.3f}", f"{row['conversions']:,}", f"{row['revenue']:,.2f}",
        )  # fmt: skip
    console.print(table)
    for experiment in experiments:
        _show_results(experiment_results(db, experiment["name"], now=now))


@app.command("recommend")
def recommend_cmd(
    user: Annotated[str | None, typer.Option(help="A customer's user_id")] = None,
    anonymous: Annotated[str | None, typer.Option(help="A visitor's anonymous_id")] = None,
    session: Annotated[str | None, typer.Option(help="A session_id")] = None,
    context: Annotated[str, typer.Option(help="home, product, cart, category, ...")] = "home",
    product: Annotated[str | None, typer.Option(help="The product on the page")] = None,
    cart: Annotated[str | None, typer.Option(help="Comma-separated product ids")] = None,
    category: Annotated[str | None, typer.Option(help="The category on the page")] = None,
    strategy: Annotated[str, typer.Option(help="auto, personalized, popular, ...")] = "auto",
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Ask the newest trained models for recommendations, as the HTTP endpoint would
    (the answer is logged like any other)."""
    from shopsense.recommend.engine import PersonalizationEngine
    from shopsense.recommend.request import RecommendationRequest

    settings = get_settings()
    db = _database(settings)
    fields: dict[str, Any] = {
        "user_id": user, "anonymous_id": anonymous, "session_id": session,
        "context": context, "product_id": product, "category": category,
        "cart": [c.strip() for c in cart.split(",") if c.strip()] if cart else [],
        "strategy": strategy, "limit": limit,
    }  # fmt: skip
    request = _request(RecommendationRequest, fields)
    answer = PersonalizationEngine(db, settings).recommend(request)
    _show_recommendations(f"{answer['recommendation_id']} ({answer['model_version']})", answer)


@bundles_app.command("mine")
def bundles_mine(
    as_of: Annotated[
        str | None, typer.Option(help="ISO date or datetime (UTC); default now")
    ] = None,
    source: Annotated[str | None, typer.Option(help="orders or sessions; default both")] = None,
) -> None:
    """Mine frequent itemsets and association rules from orders (bought together) and
    sessions (viewed or carted together) and store them; a running server picks them up
    within seconds. Thresholds: SHOPSENSE_BUNDLE_MIN_SUPPORT, _MIN_LIFT, _MAX_LEN."""
    from shopsense.api.params import parse_as_of
    from shopsense.bundles.baskets import SOURCES
    from shopsense.bundles.rules import mine

    settings = get_settings()
    with rich_reporter() as reporter:
        summaries = mine(
            _database(settings),
            settings,
            parse_as_of(as_of),
            sources=(source,) if source else SOURCES,
            reporter=reporter,
        )
    for s in summaries:
        console.print(
            f"{s.source}: {s.baskets:,} baskets, {s.items:,} items, support >= {s.min_count} "
            f"baskets -> {s.itemsets:,} itemsets, {s.rules:,} rules "
            f"(lift >= {settings.bundle_min_lift}) in {s.seconds:.2f} s; run {s.mining_id}"
        )


@bundles_app.command("show")
def bundles_show(
    product: Annotated[str | None, typer.Option(help="The product on the page")] = None,
    cart: Annotated[str | None, typer.Option(help="Comma-separated product ids")] = None,
    user: Annotated[str | None, typer.Option(help="A customer's user_id")] = None,
    types: Annotated[
        str | None, typer.Option(help="Comma-separated bundle types; default all five")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=20)] = 5,
    max_size: Annotated[int, typer.Option(min=2, max=5)] = 3,
) -> None:
    """Ask the bundle engine as the HTTP endpoint would (the offers are stored likewise)."""
    from shopsense.bundles.engine import BundleAutomationEngine
    from shopsense.bundles.request import ALL_TYPES, BundleRequest

    settings = get_settings()
    fields: dict[str, Any] = {
        "product_id": product, "user_id": user, "limit": limit, "max_size": max_size,
        "cart": [c.strip() for c in cart.split(",") if c.strip()] if cart else [],
        "types": [t.strip() for t in types.split(",") if t.strip()] if types else ALL_TYPES,
    }  # fmt: skip
    request = _request(BundleRequest, fields)
    answer = BundleAutomationEngine(_database(settings), settings).bundles(request)
    _show_bundles(f"bundles ({answer['mining_id'] or 'no mining run yet'})", answer)


def _request(model: Any, fields: dict[str, Any]) -> Any:
    """``fields`` validated as ``model``; the errors as one line, per field."""
    from pydantic import ValidationError

    from shopsense.errors import ValidationFailed

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationFailed(problems) from exc


def _show_bundles(title: str, answer: dict[str, Any]) -> None:
    """The bundles as a table; each one's reason (why these items, why this price) below."""
    table = Table(title=title, title_justify="left")
    for column in ("#", "type", "products", "list", "price", "off", "profit/offer"):
        table.add_column(column, justify="left" if column in ("type", "products") else "right")
    for k, b in enumerate(answer["bundles"], start=1):
        table.add_row(
            str(k), b["type"], ", ".join(p["product_id"] for p in b["products"]),
            f"{b['list_price']:.2f}", f"{b['bundle_price']:.2f}", f"{b['discount_pct']:.1f} %",
            f"{b['expected_profit']:.2f}",
        )  # fmt: skip
    console.print(table)
    for k, b in enumerate(answer["bundles"], start=1):
        console.print(f"  {k}. {b['reason'].split('. ')[0]}", highlight=False)


@experiments_app.command("create")
def experiments_create(
    name: Annotated[str, typer.Argument(help="Experiment name")],
    variant: Annotated[
        list[str], typer.Option(help="NAME=strategy:S[,weight:W]; the first is the control")
    ],
    traffic: Annotated[float, typer.Option(help="Share of units in the experiment")] = 1.0,
    holdout: Annotated[float, typer.Option(help="Share with no personalization")] = 0.0,
    metric: Annotated[str, typer.Option(help="ctr, conversion or revenue_per_user")] = "ctr",
    baseline: Annotated[
        float | None, typer.Option(help="Expected control rate (gives the planned size)")
    ] = None,
    effect: Annotated[float, typer.Option(help="Smallest relative lift to detect")] = 0.1,
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Start an experiment; recommendation requests with strategy auto follow it at once."""
    from shopsense.clock import utcnow
    from shopsense.experiments import registry

    fields = {
        "name": name, "description": description, "traffic": traffic, "holdout": holdout,
        "metric": metric, "baseline_rate": baseline, "minimum_effect": effect,
        "variants": [registry.parse_variant(v).model_dump() for v in variant],
    }  # fmt: skip
    spec = _request(registry.ExperimentIn, fields)
    with _database(get_settings()).write() as conn:
        row = registry.create(conn, spec, utcnow())
    planned = row["planned_users"]
    console.print(
        f"experiment {name} running: "
        + ", ".join(f"{v['name']}={v['strategy']} (x{v['weight']:g})" for v in row["variants"])
        + f"; traffic {traffic:g}, holdout {holdout:g}"
        + (f"; planned {planned:,} users per variant" if planned else "")
    )


@experiments_app.command("list")
def experiments_list() -> None:
    """Every experiment with its status and variants."""
    from shopsense.experiments import registry

    with _database(get_settings()).read() as conn:
        rows = registry.listed(conn)
    table = Table(title="experiments", title_justify="left")
    for column in ("name", "status", "variants", "traffic", "holdout", "started", "winner"):
        table.add_column(column)
    for r in rows:
        variants = ", ".join(f"{v['name']}={v['strategy']}" for v in r["variants"])
        table.add_row(
            r["name"], r["status"], variants, f"{r['traffic']:g}", f"{r['holdout']:g}",
            f"{r['started_at']:%Y-%m-%d %H:%M}", r["winner"] or "",
        )  # fmt: skip
    console.print(table)


@experiments_app.command("results")
def experiments_results(name: Annotated[str, typer.Argument()]) -> None:
    """The read-out: per variant users, impressions, CTR, conversion, revenue per user, and
    against the control the lift with its interval and p-value (fixed-horizon and
    always-valid), the sample-ratio check and the planned size."""
    from shopsense.clock import utcnow
    from shopsense.experiments.attribution import Windows
    from shopsense.experiments.results import experiment_results

    settings = get_settings()
    windows = Windows.from_settings(settings)
    report = experiment_results(_database(settings), name, now=utcnow(), windows=windows)
    _show_results(report)


def _show_results(report: dict[str, Any]) -> None:
    metric = report["experiment"]["metric"]
    table = Table(title=f"{report['experiment']['name']} ({metric})", title_justify="left")
    for column in ("variant", "strategy", "users", "impr.", "clicks", "value", "lift [95 % CI]",
                   "p", "always-valid p"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("variant", "strategy") else "right")

    def fmt(x: float | None, digits: int = 4) -> str:
        return "" if x is None else f"{x:.{digits}f}"

    for v in report["variants"]:
        m = v["metrics"][metric]
        ci = m.get("lift_ci")
        lift = (
            f"{100 * m['lift']:+.1f} % [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"
            if m.get("lift") is not None and ci and None not in ci
            else ""
        )
        table.add_row(
            v["variant"], v["strategy"], f"{v['users']:,}", f"{v['impressions']:,}",
            f"{v['clicks']:,}", fmt(m["value"]), lift, fmt(m.get("p_value")),
            fmt(m.get("sequential_p_value")),
        )  # fmt: skip
    console.print(table)
    srm = report["srm"]
    if srm is not None:
        console.print(
            f"sample ratio: p = {srm['p_value']:.4g}"
            + (" — MISMATCH: the split is not as designed" if srm["mismatch"] else " (as designed)")
        )
    planned = report["experiment"]["planned_users"]
    if planned:
        console.print(
            f"planned {planned:,} users per variant: "
            + (
                "reached"
                if report["planned_users_reached"]
                else "not reached (peeking: read the always-valid p)"
            )
        )


@experiments_app.command("rebuild-rollup")
def experiments_rebuild_rollup() -> None:
    """Forget the daily recommendation figures kept for closed days and compute them again
    (after importing events that arrived more than a conversion window late)."""
    from shopsense.experiments.attribution import Windows
    from shopsense.experiments.performance import rebuild_rollup

    settings = get_settings()
    through = rebuild_rollup(_database(settings), windows=Windows.from_settings(settings))
    console.print(f"recommendation rollup rebuilt through {through or 'no day yet'}")


@experiments_app.command("stop")
def experiments_stop(
    name: Annotated[str, typer.Argument()],
    winner: Annotated[str | None, typer.Option(help="Declare this variant the winner")] = None,
) -> None:
    """Stop an experiment; recommendations go back to strategy auto."""
    from shopsense.clock import utcnow
    from shopsense.experiments import registry

    with _database(get_settings()).write() as conn:
        row = registry.stop(conn, name, utcnow(), winner)
    console.print(
        f"experiment {name} stopped" + (f"; winner {row['winner']}" if row["winner"] else "")
    )


@report_app.command("profit")
def report_profit(
    from_: Annotated[
        str | None, typer.Option("--from", help="ISO date (default: 90 days before --to)")
    ] = None,
    to: Annotated[str | None, typer.Option(help="ISO date, exclusive (default: now)")] = None,
    markdown: Annotated[Path | None, typer.Option(help="Also write it as Markdown here")] = None,
    html: Annotated[Path | None, typer.Option(help="Also write it as an HTML page here")] = None,
) -> None:
    """Margins, pricing, inventory, marketing and retention, and the opportunities ranked by
    money at stake."""
    from shopsense.api.params import parse_as_of
    from shopsense.clock import utcnow
    from shopsense.profit.engine import ProfitOptimizationEngine
    from shopsense.profit.render import html_report, markdown_report

    settings = get_settings()
    report = ProfitOptimizationEngine(_database(settings), settings).report(
        parse_as_of(from_, "from"), parse_as_of(to, "to"), now=utcnow()
    )
    revenue = report["revenue"]
    console.print(
        f"{report['from']:%Y-%m-%d} to {report['to']:%Y-%m-%d}: net revenue "
        f"{revenue['net_revenue']:,.2f}, gross margin {revenue['gross_margin']:,.2f} "
        f"({100 * (revenue['margin_pct'] or 0):.1f} %), {revenue['orders']:,} orders"
    )
    table = Table(title="opportunities by money at stake", title_justify="left")
    for column in ("kind", "what", "money", "evidence"):
        table.add_column(column, justify="right" if column == "money" else "left")
    for o in report["opportunities"][:15]:
        table.add_row(o["kind"], o["title"], f"{o['money_at_stake']:,.2f}", o["evidence"])
    console.print(table)
    channels = Table(title="marketing by channel", title_justify="left")
    for column in ("channel", "spend", "new", "CAC", "ROI", "CLV:CAC", "payback (months)"):
        channels.add_column(column, justify="left" if column == "channel" else "right")

    def fmt(x: float | None, digits: int = 2) -> str:
        return "" if x is None else f"{x:,.{digits}f}"

    for c in report["marketing"]:
        channels.add_row(
            c["channel"], fmt(c["spend"]), f"{c['new_customers']:,}", fmt(c["cac"]),
            fmt(c["roi"]), fmt(c["clv_cac"]), fmt(c["payback_months"], 1),
        )  # fmt: skip
    console.print(channels)
    if markdown is not None:
        markdown.write_text(markdown_report(report))
        console.print(f"report written to {markdown}")
    if html is not None:
        html.write_text(html_report(report))
        console.print(f"report written to {html}")


@app.command("evaluate")
def evaluate_cmd(
    dataset: Annotated[str, typer.Option(help="online-retail, ml-100k or demo")],
    split: Annotated[
        str | None, typer.Option(help="temporal or random; must be the data set's protocol")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Length of each list")] = 10,
    json_: Annotated[Path | None, typer.Option("--json", help="Write the figures here")] = None,
    models: Annotated[str | None, typer.Option(help="Comma-separated; default all")] = None,
    validation: Annotated[bool, typer.Option(help="Score the validation set")] = False,
) -> None:
    """Fit every recommender on a data set's training split and score its top k offline."""
    from shopsense.recommend.evaluation import check_protocol, choose_models, evaluate, load, tables

    settings = get_settings()
    check_protocol(dataset, split)
    factories = choose_models(models)
    db = _database(settings) if dataset == "demo" else None
    data = load(dataset, settings.datasets, db=db, validation=validation)
    with rich_reporter() as reporter:
        result = evaluate(data, factories, k=k, reporter=reporter)
    for table in tables(result):
        console.print(table)
    for variant, versus in result.hybrid_summary().items():
        low, high = versus["ci95"]
        console.print(
            f"hybrid vs {versus['baseline']} ({variant}): ×{versus['ratio']}, "
            f"difference {versus['difference']:+.4f} [95 % CI {low:+.4f}, {high:+.4f}]"
        )
    if json_ is not None:
        json_.write_text(json.dumps(result.to_json(), indent=1))
        console.print(f"figures written to {json_}")


def main() -> None:
    """The console script: shopsense's own errors print as one line, not a traceback."""
    from shopsense.errors import ShopsenseError

    try:
        app()
    except ShopsenseError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()

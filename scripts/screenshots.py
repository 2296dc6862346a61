"""Screenshots of every dashboard page at desktop (1280 px) and phone (390 px) widths.

Desktop shots hold the whole page, phone shots the first screen. Generates a demo store
ending today into a scratch SQLite database (or uses ``--database``),
rebuilds the profiles, starts the server on a free port, signs in with a secret key and saves
``docs/screenshots/{page}-{desktop,phone}.png``. Needs Chromium (``/usr/bin/chromium``, or
``--chromium PATH``) and the dev dependencies::

    uv run python scripts/screenshots.py
    uv run python scripts/screenshots.py --serve   # keep the server running to look around
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import func, select, update

from shopsense.api.app import create_app
from shopsense.clock import utcnow
from shopsense.db.migrate import upgrade
from shopsense.db.models import experiment_table, orders_table
from shopsense.db.session import Database
from shopsense.demo import StoreSpec, generate_store
from shopsense.profiles import ProfileEngine
from shopsense.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
SECRET = "ss_sk_screenshots"  # noqa: S105 - the key of a scratch store
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
PAGES = {
    "overview": "/ui/",
    "users": "/ui/users",
    "profile": None,  # the customer with the most revenue
    "recommendations": "/ui/recommendations",
    "bundles": "/ui/bundles",
    "profit": "/ui/profit",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings, db: Database) -> Iterator[str]:
    """The app on a free local port, in a thread, for the duration of the block."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def demo_database(path: Path, users: int, products: int, days: int) -> tuple[Settings, Database]:
    url = f"sqlite:///{path}"
    settings = Settings(
        database_url=url, secret_key=SECRET, datasets=None, log_json=False, timezone="UTC"
    )
    upgrade(url)
    db = Database(url, sqlite_synchronous="OFF")
    spec = StoreSpec(users=users, products=products, days=days, seed=42, end=utcnow().date())
    generate_store(db, spec, settings=settings)
    ProfileEngine(db, settings).rebuild()
    with db.write() as conn:  # show the demo's A/B test as still running
        conn.execute(
            update(experiment_table).values(status="running", stopped_at=None, winner=None)
        )
    return settings, db


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("#key", SECRET)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/ui/")


def best_customer(db: Database) -> str:
    with db.read() as conn:
        row = conn.execute(
            select(orders_table.c.user_id)
            .where(orders_table.c.user_id.is_not(None))
            .group_by(orders_table.c.user_id)
            .order_by(func.sum(orders_table.c.revenue).desc())
            .limit(1)
        ).first()
    return str(row[0]) if row else "U00001"


def shoot(base: str, chromium: str, out: Path, customer: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=1
            )
            page = context.new_page()
            sign_in(page, base)
            for name, path in PAGES.items():
                path = path or f"/ui/users/{customer}"
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                target = out / f"{name}-{width_name}.png"
                # the whole page on a desktop; a phone's first screen, as a phone shows it
                page.screenshot(path=str(target), full_page=width_name == "desktop")
                saved.append(target)
            context.close()
        browser.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, help="an existing SQLite file to use")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--serve", action="store_true", help="keep serving after the shots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        if args.database and args.database.exists():
            url = f"sqlite:///{args.database}"
            settings = Settings(
                database_url=url, secret_key=SECRET, datasets=None, log_json=False, timezone="UTC"
            )
            upgrade(url)
            db = Database(url)
        else:
            path = args.database or Path(scratch) / "screenshots.db"
            settings, db = demo_database(path, args.users, args.products, args.days)
        with serving(settings, db) as base:
            for path in shoot(base, args.chromium, args.out, best_customer(db)):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)  # noqa: T201
            if args.serve:
                print(f"serving {base}/ui/ (key {SECRET}); Ctrl-C to stop")  # noqa: T201
                try:
                    while True:
                        time.sleep(timedelta(hours=1).total_seconds())
                except KeyboardInterrupt:
                    pass
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

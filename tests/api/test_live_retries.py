"""Concurrent retries of one batch against a real server process store it exactly once."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shopsense.db.models import activity_table, order_items_table, orders_table
from shopsense.db.session import Database

KEY = "live-write-key"
THREADS = 12
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(db: Database, db_url: str) -> Iterator[str]:
    """A uvicorn process on the (emptied) test database; its base URL."""
    port = _free_port()
    env = os.environ | {
        "SHOPSENSE_DATABASE_URL": db_url,
        "SHOPSENSE_WRITE_KEY": KEY,
        "SHOPSENSE_LOG_JSON": "false",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "shopsense.api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the server exited"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _batch() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"event_id": f"view-{i:03d}", "type": "product_view", "user_id": f"U{i % 5}",
         "product_id": f"P{i % 7}", "timestamp": "2024-04-01T10:00:00Z"}
        for i in range(60)
    ]  # fmt: skip
    events.append(
        {
            "event_id": "buy-1",
            "type": "purchase",
            "user_id": "U1",
            "order_id": "O-live",
            "items": [
                {"product_id": "P1", "quantity": 1, "price": 10.0},
                {"product_id": "P2", "quantity": 2, "price": 2.5},
                {"product_id": "P3", "quantity": 3, "price": 1.0},
            ],
        }
    )
    events.append({"event_id": "login-1", "type": "login", "user_id": "U9", "anonymous_id": "A9"})
    return events


@pytest.mark.live
def test_concurrent_retries_store_every_event_once(server: str, db: Database) -> None:
    batch = _batch()
    start = threading.Barrier(THREADS)
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        # Each client sends the events in its own order, as independent retries would.
        shuffled = random.Random(seed).sample(batch, len(batch))
        with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {KEY}"}) as http:
            start.wait()
            for _ in range(ROUNDS):
                body = {"batch": shuffled}
                answer = http.post("/analytics/track-activity", json=body, timeout=60)
                with lock:
                    if answer.status_code == 200:
                        answers.append(answer.json())
                    else:
                        failures.append(f"{answer.status_code}: {answer.text}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(answers) == THREADS * ROUNDS
    assert sum(a["accepted"] for a in answers) == len(batch)
    assert sum(a["duplicates"] for a in answers) == len(batch) * (THREADS * ROUNDS - 1)
    assert all(a["rejected"] == [] for a in answers)
    with db.read() as conn:
        ids = list(conn.execute(select(activity_table.c.event_id)).scalars())
        orders = conn.execute(select(orders_table.c.order_id, orders_table.c.revenue)).all()
        items = conn.execute(select(func.count()).select_from(order_items_table)).scalar_one()
    assert sorted(ids) == sorted(e["event_id"] for e in batch)
    assert [tuple(o) for o in orders] == [("O-live", 18.0)]
    assert items == 3

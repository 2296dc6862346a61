"""``login``/``signup`` with both ids merges the anonymous history into the user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from trackingkit import Rows, Track

from shopsense.db.models import (
    activity_table,
    identities_table,
    orders_table,
    refunds_table,
    users_table,
)
from shopsense.tracking import store


def event(event_id: str, activity_type: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": activity_type, "timestamp": at, **fields}


ANONYMOUS_HISTORY = [
    event("a1", "page_view", "2024-04-01T09:00:00Z", anonymous_id="anon"),
    event("a2", "product_view", "2024-04-02T09:00:00Z", anonymous_id="anon", product_id="P1"),
    event(
        "a3",
        "purchase",
        "2024-04-03T09:00:00Z",
        anonymous_id="anon",
        order_id="O1",
        items=[{"product_id": "P1", "price": 20}],
    ),
    event("a4", "order_refunded", "2024-04-04T09:00:00Z", anonymous_id="anon", order_id="O1"),
]
LOGIN = event("l1", "login", "2024-04-10T09:00:00Z", anonymous_id="anon", user_id="U1")


def owners(rows: Rows) -> dict[str, str | None]:
    return {r["event_id"]: r["user_id"] for r in rows(activity_table)}


def test_login_moves_the_anonymous_history_to_the_user(track: Track, rows: Rows) -> None:
    assert track({"batch": ANONYMOUS_HISTORY}).json()["accepted"] == 4
    assert set(owners(rows).values()) == {None}
    assert rows(users_table) == []

    assert track(LOGIN).json()["accepted"] == 1
    assert owners(rows) == {"a1": "U1", "a2": "U1", "a3": "U1", "a4": "U1", "l1": "U1"}
    assert [(o["order_id"], o["user_id"]) for o in rows(orders_table)] == [("O1", "U1")]
    assert [(r["refund_id"], r["user_id"]) for r in rows(refunds_table)] == [("a4", "U1")]
    [identity] = rows(identities_table)
    assert (identity["anonymous_id"], identity["user_id"]) == ("anon", "U1")
    assert identity["merged_at"] == datetime(2024, 4, 10, 9, 0)
    [user] = rows(users_table)
    assert user["user_id"] == "U1"
    assert user["first_seen"] == datetime(2024, 4, 1, 9, 0)  # the merged anonymous history
    assert user["last_seen"] == datetime(2024, 4, 10, 9, 0)


def test_later_anonymous_events_are_attributed_to_the_user(track: Track, rows: Rows) -> None:
    track(LOGIN)
    later = [
        event("b1", "page_view", "2024-04-20T09:00:00Z", anonymous_id="anon"),
        event(
            "b2",
            "purchase",
            "2024-04-21T09:00:00Z",
            anonymous_id="anon",
            order_id="O2",
            items=[{"product_id": "P2", "price": 5}],
        ),
        event("b3", "page_view", "2024-04-22T09:00:00Z", anonymous_id="someone-else"),
    ]
    assert track({"batch": later}).json()["accepted"] == 3
    assert owners(rows) == {"b1": "U1", "b2": "U1", "b3": None, "l1": "U1"}
    assert [(o["order_id"], o["user_id"]) for o in rows(orders_table)] == [("O2", "U1")]
    [user] = rows(users_table)
    assert (user["first_seen"], user["last_seen"]) == (
        datetime(2024, 4, 10, 9, 0),
        datetime(2024, 4, 21, 9, 0),
    )


def test_history_and_login_in_one_batch_are_merged(track: Track, rows: Rows) -> None:
    later = event("c1", "page_view", "2024-04-11T09:00:00Z", anonymous_id="anon")
    assert track({"batch": [*ANONYMOUS_HISTORY, LOGIN, later]}).json()["accepted"] == 6
    assert set(owners(rows).values()) == {"U1"}
    assert [o["user_id"] for o in rows(orders_table)] == ["U1"]
    [user] = rows(users_table)
    assert (user["first_seen"], user["last_seen"]) == (
        datetime(2024, 4, 1, 9, 0),
        datetime(2024, 4, 11, 9, 0),
    )


def test_the_first_merge_wins(track: Track, rows: Rows) -> None:
    track(LOGIN)
    other = event("l2", "login", "2024-04-11T09:00:00Z", anonymous_id="anon", user_id="U2")
    assert track(other).json()["accepted"] == 1
    track(event("d1", "page_view", "2024-04-12T09:00:00Z", anonymous_id="anon"))
    assert [(i["anonymous_id"], i["user_id"]) for i in rows(identities_table)] == [("anon", "U1")]
    assert owners(rows) == {"d1": "U1", "l1": "U1", "l2": "U2"}
    assert [u["user_id"] for u in rows(users_table)] == ["U1", "U2"]


def test_an_event_with_both_ids_that_is_not_an_identify_does_not_merge(
    track: Track, rows: Rows
) -> None:
    track(event("e1", "page_view", "2024-04-01T09:00:00Z", anonymous_id="anon", user_id="U1"))
    track(event("e2", "page_view", "2024-04-02T09:00:00Z", anonymous_id="anon"))
    assert rows(identities_table) == []
    assert owners(rows) == {"e1": "U1", "e2": None}


def test_signup_sets_the_channel_from_properties(track: Track, rows: Rows) -> None:
    signup = event(
        "s1",
        "signup",
        "2024-04-05T09:00:00Z",
        user_id="U1",
        anonymous_id="anon",
        properties={"channel": "newsletter"},
        context={"utm_source": "google"},
    )
    track({"batch": [ANONYMOUS_HISTORY[0], signup]})
    [user] = rows(users_table)
    assert user["signup_channel"] == "newsletter"
    assert user["signup_at"] == datetime(2024, 4, 5, 9, 0)
    assert user["first_seen"] == datetime(2024, 4, 1, 9, 0)


def test_signup_falls_back_to_utm_source(track: Track, rows: Rows) -> None:
    signup = event(
        "s1",
        "Signed Up",
        "2024-04-05T09:00:00Z",
        user_id="U1",
        properties={"channel": 7},
        context={"utm_source": "google"},
    )
    track(signup)
    [user] = rows(users_table)
    assert (user["signup_channel"], user["signup_at"]) == ("google", datetime(2024, 4, 5, 9))


def test_a_later_signup_does_not_replace_the_first(track: Track, rows: Rows) -> None:
    track(event("s1", "signup", "2024-04-05T09:00:00Z", user_id="U1", properties={"channel": "a"}))
    track(event("s2", "signup", "2024-04-06T09:00:00Z", user_id="U1", properties={"channel": "b"}))
    [user] = rows(users_table)
    assert (user["signup_channel"], user["signup_at"]) == ("a", datetime(2024, 4, 5, 9))
    assert user["last_seen"] == datetime(2024, 4, 6, 9)


def test_users_span_first_and_last_seen_over_every_request(track: Track, rows: Rows) -> None:
    track(event("e2", "page_view", "2024-04-05T09:00:00Z", user_id="U1"))
    track(event("e1", "page_view", "2024-04-01T09:00:00Z", user_id="U1"))
    track(event("e3", "page_view", "2024-04-03T09:00:00Z", user_id="U1"))
    [user] = rows(users_table)
    assert (user["first_seen"], user["last_seen"]) == (
        datetime(2024, 4, 1, 9, 0),
        datetime(2024, 4, 5, 9, 0),
    )
    assert (user["signup_at"], user["signup_channel"]) == (None, None)


@pytest.mark.parametrize(("early_id", "late_id"), [("a-early", "z-late"), ("z-early", "a-late")])
def test_within_one_batch_the_earliest_login_wins(
    early_id: str, late_id: str, track: Track, rows: Rows
) -> None:
    early = event(early_id, "login", "2024-04-10T09:00:00Z", anonymous_id="anon", user_id="U1")
    late = event(late_id, "login", "2024-04-10T10:00:00Z", anonymous_id="anon", user_id="U2")
    view = event("v1", "page_view", "2024-04-10T11:00:00Z", anonymous_id="anon")
    assert track({"batch": [late, view, early]}).json()["accepted"] == 3
    assert [(i["anonymous_id"], i["user_id"]) for i in rows(identities_table)] == [("anon", "U1")]
    assert owners(rows) == {early_id: "U1", late_id: "U2", "v1": "U1"}


def test_an_unowned_event_committed_during_a_merge_is_no_user(
    track: Track, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL another transaction may commit anonymous events of the id being merged
    # between the merge's UPDATE and the users upsert; they must not become a user ``None``.
    merge = store._merge_identities

    def merge_then_concurrent_insert(conn: Any, new_rows: Any) -> Any:
        merged = merge(conn, new_rows)
        stray = {c.name: None for c in activity_table.columns if c.name != "id"}
        stray |= {"event_id": "stray", "type": "page_view", "anonymous_id": "anon"}
        stray |= {"timestamp": datetime(2024, 1, 1), "received_at": datetime(2024, 1, 1)}
        stray |= {"is_bot": False, "timestamp_clamped": False}
        conn.execute(activity_table.insert(), [stray])
        return merged

    monkeypatch.setattr(store, "_merge_identities", merge_then_concurrent_insert)
    assert track({"batch": [*ANONYMOUS_HISTORY[:2], LOGIN]}).json()["accepted"] == 3
    [user] = rows(users_table)
    assert (user["user_id"], user["first_seen"]) == ("U1", datetime(2024, 4, 1, 9, 0))

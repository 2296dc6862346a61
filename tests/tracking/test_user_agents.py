"""User agents fill in device, browser and OS when the client did not, and flag bots."""

from __future__ import annotations

from typing import Any

import pytest
from trackingkit import Rows, Track

from shopsense.db.models import activity_table

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)


def tracked(track: Track, rows: Rows, context: dict[str, Any]) -> dict[str, Any]:
    event = {"event_id": "e1", "type": "page_view", "anonymous_id": "A1", "context": context}
    assert track(event).json()["accepted"] == 1
    [row] = rows(activity_table)
    return row


@pytest.mark.parametrize(
    ("user_agent", "device_type", "browser", "os"),
    [
        (IPAD, "tablet", "Mobile Safari", "iOS"),
        (IPHONE, "mobile", "Mobile Safari", "iOS"),
        (WINDOWS_CHROME, "desktop", "Chrome", "Windows"),
        (ANDROID_PHONE, "mobile", "Chrome Mobile", "Android"),
    ],
)
def test_the_user_agent_fills_device_browser_and_os(
    user_agent: str, device_type: str, browser: str, os: str, track: Track, rows: Rows
) -> None:
    row = tracked(track, rows, {"user_agent": user_agent})
    assert (row["device_type"], row["browser"], row["os"]) == (device_type, browser, os)
    assert row["is_bot"] is False
    assert row["user_agent"] == user_agent


def test_given_fields_are_not_overridden(track: Track, rows: Rows) -> None:
    row = tracked(track, rows, {"user_agent": IPHONE, "device_type": "desktop", "os": "MyOS"})
    assert (row["device_type"], row["browser"], row["os"]) == ("desktop", "Mobile Safari", "MyOS")


def test_all_fields_given_are_kept_as_is(track: Track, rows: Rows) -> None:
    context = {"user_agent": IPAD, "device_type": "other", "browser": "B", "os": "O"}
    row = tracked(track, rows, context)
    assert (row["device_type"], row["browser"], row["os"]) == ("other", "B", "O")
    assert row["is_bot"] is False


@pytest.mark.parametrize(
    "user_agent",
    [GOOGLEBOT, "python-requests/2.31.0", "curl/8.5.0", "Mozilla/5.0 (compatible; bingbot/2.0)"],
)
def test_crawlers_are_bots(user_agent: str, track: Track, rows: Rows) -> None:
    row = tracked(track, rows, {"user_agent": user_agent})
    assert row["is_bot"] is True
    assert row["device_type"] == "bot"


def test_a_crawler_is_a_bot_even_when_the_client_named_its_device(track: Track, rows: Rows) -> None:
    context = {"user_agent": GOOGLEBOT, "device_type": "desktop", "browser": "B", "os": "O"}
    row = tracked(track, rows, context)
    assert row["is_bot"] is True
    assert row["device_type"] == "desktop"


def test_device_type_bot_sets_is_bot(track: Track, rows: Rows) -> None:
    row = tracked(track, rows, {"device_type": "bot"})
    assert (row["is_bot"], row["device_type"], row["browser"]) == (True, "bot", None)


def test_no_user_agent_leaves_the_fields_empty(track: Track, rows: Rows) -> None:
    row = tracked(track, rows, {"page_path": "/"})
    assert (row["device_type"], row["browser"], row["os"], row["is_bot"]) == (
        None,
        None,
        None,
        False,
    )


def test_an_unrecognised_user_agent_is_other(track: Track, rows: Rows) -> None:
    row = tracked(track, rows, {"user_agent": "SomethingNew/1.0"})
    assert (row["device_type"], row["browser"], row["os"], row["is_bot"]) == (
        "other",
        None,
        None,
        False,
    )

"""User-agent parsing (ua-parser's maintained regexes) and bot detection, cached per string."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

_BOT_WORDS = re.compile(
    r"bot\b|bot/|crawler|spider|slurp|headlesschrome|phantomjs|python-requests|curl/|wget/"
    r"|httpclient|scrapy|facebookexternalhit|preview|monitor|lighthouse",
    re.IGNORECASE,
)
_DESKTOP_OS = {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "FreeBSD"}


@dataclass(frozen=True, slots=True)
class ParsedAgent:
    device_type: str
    browser: str | None
    os: str | None
    is_bot: bool


@lru_cache(maxsize=20_000)
def parse_user_agent(user_agent: str) -> ParsedAgent:
    """Device class, browser and OS family of a user agent; bots by family or keyword."""
    result = parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    os_family = result.os.family if result.os else None
    device = result.device.family if result.device else None
    is_bot = device == "Spider" or bool(_BOT_WORDS.search(user_agent))
    if is_bot:
        device_type = "bot"
    elif (
        device == "iPad"
        or "Tablet" in user_agent
        or (os_family == "Android" and "Mobile" not in user_agent)
    ):
        device_type = "tablet"
    elif "Mobi" in user_agent or device == "iPhone" or os_family in {"iOS", "Android"}:
        device_type = "mobile"
    elif os_family in _DESKTOP_OS:
        device_type = "desktop"
    else:
        device_type = "other"
    return ParsedAgent(
        device_type=device_type,
        browser=None if browser in (None, "Other") else browser,
        os=None if os_family in (None, "Other") else os_family,
        is_bot=is_bot,
    )

"""Real user-agent strings per device class. Device type, browser and OS come from the
server's own parser, so stored context is exactly what the API derives from each string."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from shopsense.tracking.useragent import parse_user_agent

DEVICE_CLASSES = ("desktop", "mobile", "tablet")

_USER_AGENTS: dict[str, tuple[str, ...]] = {
    "desktop": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    "mobile": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.6723.102 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/130.0.6723.90 Mobile/15E148 Safari/604.1",
    ),
    "tablet": (
        "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
}
# How common each string is within its class (Chrome on Windows and Safari on iPhone lead).
_WEIGHTS: dict[str, tuple[float, ...]] = {
    "desktop": (0.45, 0.22, 0.15, 0.12, 0.06),
    "mobile": (0.5, 0.25, 0.15, 0.1),
    "tablet": (0.7, 0.3),
}
_CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
)


@dataclass(frozen=True)
class Agent:
    """A user agent with the context the server parses from it."""

    user_agent: str
    device_type: str
    browser: str | None
    os: str | None
    is_bot: bool


def _agent(user_agent: str) -> Agent:
    parsed = parse_user_agent(user_agent)
    return Agent(user_agent, parsed.device_type, parsed.browser, parsed.os, parsed.is_bot)


@cache
def agents(device_class: str) -> tuple[Agent, ...]:
    """The agents of ``desktop``, ``mobile``, ``tablet`` or ``bot``."""
    strings = _CRAWLERS if device_class == "bot" else _USER_AGENTS[device_class]
    return tuple(_agent(s) for s in strings)


def agent_weights(device_class: str) -> tuple[float, ...]:
    if device_class == "bot":
        return (0.45, 0.25, 0.2, 0.1)
    return _WEIGHTS[device_class]

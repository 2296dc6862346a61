"""Where shoppers are: country mix with locale, timezone and a few cities each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    locale: str
    timezone: str
    places: tuple[tuple[str, str], ...]  # (region, city)


COUNTRIES: tuple[Country, ...] = (
    Country("US", 0.34, "en-US", "America/New_York",
            (("New York", "New York"), ("California", "Los Angeles"), ("Illinois", "Chicago"),
             ("Texas", "Austin"), ("Washington", "Seattle"))),
    Country("GB", 0.16, "en-GB", "Europe/London",
            (("England", "London"), ("England", "Manchester"), ("Scotland", "Edinburgh"))),
    Country("DE", 0.13, "de-DE", "Europe/Berlin",
            (("Berlin", "Berlin"), ("Bavaria", "Munich"), ("Hamburg", "Hamburg"))),
    Country("FR", 0.08, "fr-FR", "Europe/Paris",
            (("Ile-de-France", "Paris"), ("Auvergne-Rhone-Alpes", "Lyon"))),
    Country("CA", 0.07, "en-CA", "America/Toronto",
            (("Ontario", "Toronto"), ("British Columbia", "Vancouver"))),
    Country("NL", 0.06, "nl-NL", "Europe/Amsterdam",
            (("North Holland", "Amsterdam"), ("South Holland", "Rotterdam"))),
    Country("AU", 0.05, "en-AU", "Australia/Sydney",
            (("New South Wales", "Sydney"), ("Victoria", "Melbourne"))),
    Country("ES", 0.04, "es-ES", "Europe/Madrid",
            (("Madrid", "Madrid"), ("Catalonia", "Barcelona"))),
    Country("IT", 0.04, "it-IT", "Europe/Rome",
            (("Lazio", "Rome"), ("Lombardy", "Milan"))),
    Country("SE", 0.03, "sv-SE", "Europe/Stockholm",
            (("Stockholm", "Stockholm"), ("Vastra Gotaland", "Gothenburg"))),
)  # fmt: skip


def country_weights() -> list[float]:
    total = sum(c.weight for c in COUNTRIES)
    return [c.weight / total for c in COUNTRIES]

"""The demo catalog: departments with brands, log-normal prices, real costs, stock, seasonal
items, slow movers and the co-purchase groups planted for the bundle engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from shopsense.catalog.products import ProductIn, product_rows

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Leaf:
    """A third-level category: ``path`` like "Home/Kitchen/Mugs", ``noun`` names one item."""

    path: str
    noun: str
    season: str | None = None  # "christmas" or "summer": some of its items are seasonal


@dataclass(frozen=True)
class Department:
    """A top category: its price level, margin range, brands and attributes."""

    name: str
    weight: float
    median_price: float
    price_sigma: float
    margin: tuple[float, float]
    brands: tuple[str, ...]
    materials: tuple[str, ...]
    leaves: tuple[Leaf, ...]


DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Home", 1.2, 28.0, 0.55, (0.45, 0.60),
        ("Nordhaus", "Casa Verde", "Hearthwell", "Lumen & Co", "Oakline"),
        ("ceramic", "stoneware", "cast iron", "glass", "wax"),
        (
            Leaf("Home/Kitchen/Mugs", "Mug"),
            Leaf("Home/Kitchen/Cookware", "Frying Pan"),
            Leaf("Home/Decor/Candles", "Candle", "christmas"),
            Leaf("Home/Decor/Ornaments", "Ornament Set", "christmas"),
        ),
    ),
    Department(
        "Fashion", 1.3, 45.0, 0.6, (0.50, 0.60),
        ("Alder & Finch", "Northwind", "Maison Vale", "Urban Thread", "Kestrel"),
        ("cotton", "linen", "wool", "denim", "silk"),
        (
            Leaf("Fashion/Women/Dresses", "Dress", "summer"),
            Leaf("Fashion/Men/Shirts", "Shirt"),
            Leaf("Fashion/Accessories/Sunglasses", "Sunglasses", "summer"),
            Leaf("Fashion/Accessories/Scarves", "Scarf", "christmas"),
        ),
    ),
    Department(
        "Electronics", 1.0, 85.0, 0.8, (0.20, 0.30),
        ("Voltaic", "Auralis", "Pixelcraft", "Tronix", "Helio"),
        ("aluminium", "plastic", "silicone", "steel"),
        (
            Leaf("Electronics/Audio/Headphones", "Headphones"),
            Leaf("Electronics/Phones/Cases", "Phone Case"),
            Leaf("Electronics/Computers/Keyboards", "Keyboard"),
            Leaf("Electronics/Smart Home/Speakers", "Smart Speaker", "christmas"),
        ),
    ),
    Department(
        "Beauty", 1.0, 24.0, 0.5, (0.50, 0.60),
        ("Lumiere", "Botanica", "Velvet Rose", "Pure Dew"),
        ("organic", "vegan", "mineral", "botanical"),
        (
            Leaf("Beauty/Skincare/Moisturizers", "Moisturizer"),
            Leaf("Beauty/Makeup/Lipstick", "Lipstick"),
            Leaf("Beauty/Fragrance/Perfume", "Eau de Parfum", "christmas"),
            Leaf("Beauty/Suncare/Sunscreen", "Sunscreen", "summer"),
        ),
    ),
    Department(
        "Sports", 0.8, 40.0, 0.7, (0.30, 0.45),
        ("Peakform", "Stride", "Trailhead", "Aqua Pro", "Ironleaf"),
        ("nylon", "polyester", "rubber", "foam", "carbon"),
        (
            Leaf("Sports/Fitness/Yoga Mats", "Yoga Mat"),
            Leaf("Sports/Outdoor/Tents", "Tent", "summer"),
            Leaf("Sports/Cycling/Helmets", "Bike Helmet"),
            Leaf("Sports/Swim/Swimwear", "Swimsuit", "summer"),
        ),
    ),
    Department(
        "Toys", 0.7, 25.0, 0.6, (0.35, 0.50),
        ("Tinker Town", "Brightblock", "Cuddle Co", "Puzzlewood"),
        ("wood", "plastic", "plush", "cardboard"),
        (
            Leaf("Toys/Games/Board Games", "Board Game", "christmas"),
            Leaf("Toys/Building/Blocks", "Building Set", "christmas"),
            Leaf("Toys/Plush/Teddy Bears", "Teddy Bear"),
            Leaf("Toys/Outdoor/Water Toys", "Water Blaster", "summer"),
        ),
    ),
    Department(
        "Garden", 0.6, 28.0, 0.6, (0.35, 0.50),
        ("Greenthumb", "Terra Nova", "Bloomfield", "Fernway"),
        ("steel", "terracotta", "rattan", "bamboo"),
        (
            Leaf("Garden/Plants/Seeds", "Seed Collection"),
            Leaf("Garden/Tools/Pruners", "Pruner"),
            Leaf("Garden/Outdoor Living/Lanterns", "Solar Lantern", "summer"),
            Leaf("Garden/Outdoor Living/Hammocks", "Hammock", "summer"),
        ),
    ),
    Department(
        "Food", 0.9, 12.0, 0.45, (0.20, 0.35),
        ("Roast Republic", "Leaf & Kettle", "Cacao Lane", "Harvest Table"),
        ("organic", "fair trade", "single origin", "artisan"),
        (
            Leaf("Food/Coffee/Beans", "Coffee Beans"),
            Leaf("Food/Tea/Loose Leaf", "Loose Leaf Tea"),
            Leaf("Food/Sweets/Chocolate", "Chocolate Box", "christmas"),
            Leaf("Food/Pantry/Olive Oil", "Olive Oil"),
        ),
    ),
)  # fmt: skip

COLOURS = ("black", "white", "grey", "navy", "red", "green", "beige", "blue", "pink", "yellow")
ADJECTIVES = (
    "Classic", "Everyday", "Premium", "Essential", "Signature", "Nordic", "Vintage", "Modern",
    "Deluxe", "Compact", "Organic", "Studio", "Heritage", "Urban", "Coastal", "Alpine",
)  # fmt: skip


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays (index ``j`` is product ``ids[j]``) plus derived lookups."""

    ids: list[str]
    names: list[str]
    leaf: Ints  # index into ``leaves``
    department: Ints  # index into DEPARTMENTS
    brand: list[str]
    brand_index: Ints  # index into ``brands``
    price: Floats
    cost: Floats
    stock: Ints
    popularity: Floats
    season: list[str | None]
    price_percentile: Floats  # 0 = cheapest of its leaf category, 1 = dearest
    attributes: list[dict[str, Any]]
    tags: list[list[str]]
    slow_movers: list[int]
    co_purchase_groups: list[list[int]]
    leaves: list[Leaf]
    brands: list[str]  # every brand, each belonging to one department
    brand_department: Ints

    @property
    def size(self) -> int:
        return len(self.ids)

    def category(self, j: int) -> str:
        return self.leaves[int(self.leaf[j])].path

    def rows(self, now: datetime) -> list[dict[str, Any]]:
        """``products`` rows through the API's own model, so the catalog is one it accepts."""
        products = [
            ProductIn(
                product_id=self.ids[j],
                name=self.names[j],
                description=self._description(j),
                category=self.category(j),
                brand=self.brand[j],
                price=float(self.price[j]),
                cost=float(self.cost[j]),
                stock=int(self.stock[j]),
                attributes=self.attributes[j],
                tags=self.tags[j],
            )
            for j in range(self.size)
        ]
        return product_rows(products, default_margin=0.4, now=now)

    def _description(self, j: int) -> str:
        leaf = self.leaves[int(self.leaf[j])]
        attrs = self.attributes[j]
        return (
            f"{leaf.noun} by {self.brand[j]} in {attrs['colour']}, {attrs['material']}; "
            f"from our {leaf.path.split('/')[1].lower()} range."
        )


def _unique(names: list[str]) -> list[str]:
    """A shop does not sell two products under one name: repeats get a model number."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return out


def build_catalog(rng: np.random.Generator, n: int) -> Catalog:
    """``n`` products spread over departments by their weight, with prices log-normal around
    each department's level and a margin drawn from its range."""
    leaves = [leaf for dept in DEPARTMENTS for leaf in dept.leaves]
    leaf_department = np.array([d for d, dept in enumerate(DEPARTMENTS) for _ in dept.leaves])
    brands = [b for dept in DEPARTMENTS for b in dept.brands]
    brand_department = np.array([d for d, dept in enumerate(DEPARTMENTS) for _ in dept.brands])

    leaf_weight = np.array([DEPARTMENTS[d].weight for d in leaf_department])
    # Every leaf gets products before any gets a second, so small catalogs stay varied.
    first = rng.permutation(len(leaves))[: min(n, len(leaves))]
    rest = rng.choice(len(leaves), size=n - len(first), p=leaf_weight / leaf_weight.sum())
    leaf = np.concatenate([first, rest]).astype(np.int64)
    department = leaf_department[leaf]

    brand_index = np.empty(n, dtype=np.int64)
    for d in range(len(DEPARTMENTS)):
        own = np.flatnonzero(brand_department == d)
        members = department == d
        brand_index[members] = rng.choice(own, size=int(members.sum()))

    median = np.array([DEPARTMENTS[d].median_price for d in department])
    sigma = np.array([DEPARTMENTS[d].price_sigma for d in department])
    price = np.maximum(np.round(median * np.exp(rng.normal(0, sigma))), 2.0) - 0.01
    lo = np.array([DEPARTMENTS[d].margin[0] for d in department])
    hi = np.array([DEPARTMENTS[d].margin[1] for d in department])
    cost = np.round(price * (1 - rng.uniform(lo, hi)), 2)

    popularity = rng.lognormal(0.0, 0.8, n) * np.array([DEPARTMENTS[d].weight for d in department])
    stock = rng.integers(15, 250, n)
    order = rng.permutation(n)
    n_slow = max(1, round(n * 0.06))
    slow = np.sort(order[:n_slow])
    popularity[slow] *= 0.04
    stock[slow] = rng.integers(300, 900, n_slow)
    scarce = order[n_slow : n_slow + max(1, round(n * 0.05))]
    stock[scarce] = rng.integers(0, 4, len(scarce))

    slow_list = [int(j) for j in slow]
    season: list[str | None] = [None] * n
    seasonal_draw = rng.random(n)
    for j in range(n):
        leaf_season = leaves[leaf[j]].season
        if leaf_season and seasonal_draw[j] < 0.6 and j not in slow_list:
            season[j] = leaf_season

    percentile = _price_percentile(leaf, price)
    attributes, tags = _attributes_and_tags(rng, department, season, popularity)
    names = _unique(
        [
            f"{brands[brand_index[j]]} {ADJECTIVES[int(a)]} {leaves[leaf[j]].noun}"
            for j, a in enumerate(rng.integers(0, len(ADJECTIVES), n))
        ]
    )
    groups = _co_purchase_groups(rng, department, popularity, season, stock, slow_list)
    return Catalog(
        ids=[f"P{j + 1:04d}" for j in range(n)],
        names=names,
        leaf=leaf,
        department=department,
        brand=[brands[b] for b in brand_index],
        brand_index=brand_index,
        price=np.round(price, 2),
        cost=cost,
        stock=stock,
        popularity=popularity,
        season=season,
        price_percentile=percentile,
        attributes=attributes,
        tags=tags,
        slow_movers=slow_list,
        co_purchase_groups=groups,
        leaves=leaves,
        brands=brands,
        brand_department=brand_department,
    )


def _price_percentile(leaf: Ints, price: Floats) -> Floats:
    """Mid-rank percentile of each price within its leaf category."""
    out = np.full(len(price), 0.5)
    for value in np.unique(leaf):
        members = np.flatnonzero(leaf == value)
        if len(members) > 1:
            ranks = np.argsort(np.argsort(price[members], kind="stable"), kind="stable")
            out[members] = (ranks + 0.5) / len(members)
    return out


def _attributes_and_tags(
    rng: np.random.Generator,
    department: Ints,
    season: list[str | None],
    popularity: Floats,
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    n = len(department)
    colour = rng.integers(0, len(COLOURS), n)
    material = rng.random(n)
    flags = rng.random((n, 2))
    bestseller = popularity >= np.quantile(popularity, 0.95)
    attributes: list[dict[str, Any]] = []
    tags: list[list[str]] = []
    for j in range(n):
        dept = DEPARTMENTS[department[j]]
        attrs: dict[str, Any] = {
            "colour": COLOURS[colour[j]],
            "material": dept.materials[int(material[j] * len(dept.materials))],
        }
        if dept.name == "Fashion":
            attrs["sizes"] = ["XS", "S", "M", "L", "XL"]
        attributes.append(attrs)
        product_tags = []
        if season[j]:
            product_tags.append(str(season[j]))
            if season[j] == "christmas":
                product_tags.append("gift")
        if bestseller[j]:
            product_tags.append("bestseller")
        if flags[j, 0] < 0.1:
            product_tags.append("new")
        if flags[j, 1] < 0.1:
            product_tags.append("eco")
        tags.append(product_tags)
    return attributes, tags


def _co_purchase_groups(
    rng: np.random.Generator,
    department: Ints,
    popularity: Floats,
    season: list[str | None],
    stock: Ints,
    slow: list[int],
) -> list[list[int]]:
    """Groups of 2-4 products from different departments, each product in one group only;
    the session simulator buys a group's products together far more often than chance."""
    n = len(department)
    n_groups = int(np.clip(n // 30, 2, 16))
    excluded = set(slow)
    free = [j for j in range(n) if season[j] is None and stock[j] > 5 and j not in excluded]
    groups: list[list[int]] = []
    for _ in range(n_groups):
        size = int(rng.choice([2, 3, 4], p=[0.5, 0.3, 0.2]))
        departments = rng.permutation(len(DEPARTMENTS))
        group: list[int] = []
        for d in departments:
            candidates = [j for j in free if department[j] == d]
            if not candidates:
                continue
            chosen = int(rng.choice(candidates))
            group.append(chosen)
            free.remove(chosen)
            if len(group) == size:
                break
        if len(group) >= 2:
            groups.append(sorted(group))
        else:
            free.extend(group)
    return groups

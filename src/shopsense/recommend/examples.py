"""Example requests on the shop's own data — a known customer, a visitor's session, a
product page and a cart — so a demo shows each kind of answer with its reasons."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from shopsense.bundles.request import BundleRequest
from shopsense.db.models import activity_table as A
from shopsense.db.models import order_items_table as OI
from shopsense.db.models import orders_table as O
from shopsense.recommend.request import RecommendationRequest


def example_requests(conn: Connection, limit: int = 3) -> dict[str, RecommendationRequest]:
    """Titled requests for what the database holds (a kind with no data is left out)."""
    out: dict[str, RecommendationRequest] = {}
    buyer = conn.execute(
        select(O.c.user_id)
        .where(O.c.user_id.is_not(None))
        .group_by(O.c.user_id)
        .order_by(func.count().desc(), O.c.user_id)
        .limit(1)
    ).scalar()
    if buyer is not None:
        out[f"a known customer ({buyer}), home page"] = RecommendationRequest(
            user_id=buyer, limit=limit
        )
    session = conn.execute(
        select(A.c.session_id)
        .where(A.c.user_id.is_(None), A.c.type == "product_view", A.c.session_id.is_not(None))
        .group_by(A.c.session_id)
        .having(func.count() >= 2)
        .order_by(func.max(A.c.timestamp).desc(), A.c.session_id)
        .limit(1)
    ).scalar()
    if session is not None:
        out[f"an anonymous session ({session})"] = RecommendationRequest(
            session_id=session, limit=limit
        )
    best = (
        conn.execute(
            select(OI.c.product_id)
            .group_by(OI.c.product_id)
            .order_by(func.count().desc(), OI.c.product_id)
            .limit(3)
        )
        .scalars()
        .all()
    )
    if best:
        out[f"a product page ({best[0]})"] = RecommendationRequest(
            anonymous_id="demo-visitor", context="product", product_id=best[0], limit=limit
        )
    if len(best) >= 3:
        cart = list(best[1:3])
        out[f"a cart ({', '.join(cart)})"] = RecommendationRequest(
            anonymous_id="demo-visitor", context="cart", cart=cart, limit=limit
        )
    return out


__all__ = ["example_requests"]


def example_bundle_request(conn: Connection) -> tuple[str, BundleRequest] | None:
    """Bundles of every type for the page of the best seller, for the best customer."""
    best = conn.execute(
        select(OI.c.product_id)
        .group_by(OI.c.product_id)
        .order_by(func.count().desc(), OI.c.product_id)
        .limit(1)
    ).scalar()
    if best is None:
        return None
    return f"bundles for a product page ({best})", BundleRequest(
        anonymous_id="demo-visitor", product_id=best, limit=5
    )

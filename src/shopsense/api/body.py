"""Reading JSON bodies with the size limits of the contract, before any parsing."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from shopsense.errors import MalformedBody, PayloadTooLarge, ValidationFailed
from shopsense.validation import error_list

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, limit: int) -> Any:
    """The parsed body; 413 past ``limit`` bytes (checked while reading), 400 if not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes")
    if not body:
        raise MalformedBody("the request body is empty; a JSON document is expected")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None


def expect_list(payload: Any, limit: int, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise ValidationFailed(
            f"expected a JSON array of {what}",
            errors=[{"loc": ["body"], "msg": "must be an array", "type": "list_type"}],
        )
    if len(payload) > limit:
        raise PayloadTooLarge(f"{len(payload)} {what} in one request; the limit is {limit}")
    return payload


def validated(model: type[M], payload: Any) -> M:
    """The body as ``model``, or a 422 naming each field (``["body", field]``) and why."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = error_list(exc)
        for err in errors:
            err["loc"] = ["body", *err["loc"]]
        raise ValidationFailed(
            "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in errors[:3]),
            errors=errors,
        ) from None

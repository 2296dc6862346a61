"""Validating lists item by item, so one bad item never sinks the rest."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def error_list(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors as the contract's ``[{"loc", "msg", "type"}]``."""
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def validate_each(
    model: type[M], raw_items: list[Any]
) -> tuple[list[M], list[int], list[dict[str, Any]]]:
    """Valid models with their positions, and ``[{"index", "errors"}]`` for the rest."""
    valid: list[M] = []
    positions: list[int] = []
    rejected: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        try:
            valid.append(model.model_validate(raw))
            positions.append(index)
        except ValidationError as exc:
            rejected.append({"index": index, "errors": error_list(exc)})
    return valid, positions, rejected

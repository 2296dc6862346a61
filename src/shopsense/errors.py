"""The errors shopsense raises on purpose. The API maps each to an RFC 9457 problem."""

from __future__ import annotations

from typing import Any


class ShopsenseError(Exception):
    """Base class: carries the HTTP status and problem title it maps to."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class ValidationFailed(ShopsenseError):
    status = 422
    title = "Validation failed"


class MalformedBody(ShopsenseError):
    status = 400
    title = "Malformed request body"


class PayloadTooLarge(ShopsenseError):
    status = 413
    title = "Payload too large"


class NotFound(ShopsenseError):
    status = 404
    title = "Not found"


class Unauthorized(ShopsenseError):
    status = 401
    title = "Unauthorized"


class Forbidden(ShopsenseError):
    status = 403
    title = "Forbidden"


class ServiceUnavailable(ShopsenseError):
    status = 503
    title = "Service unavailable"


class NotFitted(ShopsenseError):
    status = 409
    title = "Model not fitted"


class ConvergenceError(ShopsenseError):
    status = 422
    title = "Model did not converge"

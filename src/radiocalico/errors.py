"""One JSON shape for every error the service returns.

    {"error": {"status": 422, "code": "validation_error", "message": "...",
               "fields": [{"field": "email", "message": "..."}]}}

Handlers are registered for our own `APIError`, for every werkzeug `HTTPException`
(404, 405, 413, 429 from the rate limits, ...) and for any other exception, which is
logged with its traceback and answered with a generic 500: the client never sees a
stack trace or the text of an exception. A database that does not answer is 503 with
Retry-After (logged once per outage, without SQL or parameters), not 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from radiocalico.api.limits import retry_after_seconds
from radiocalico.db.store import UNAVAILABLE as DATABASE_UNAVAILABLE
from radiocalico.services import services

log = logging.getLogger("radiocalico")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
_MESSAGES = {
    404: "No such resource.",
    405: "That method is not allowed here.",
    413: "The request body is too large.",
    429: "Too many requests; slow down and try again shortly.",
    500: "Something went wrong on our side.",
    503: "The service is briefly unavailable; please try again shortly.",
}
DATABASE_RETRY_AFTER = "5"


@dataclass
class FieldError:
    field: str
    message: str


@dataclass
class APIError(Exception):
    status: int
    message: str
    code: str = ""
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def error_body(status: int, message: str, code: str = "", fields=()) -> dict:
    return {
        "error": {
            "status": status,
            "code": code or _CODES.get(status, "error"),
            "message": message,
            "fields": [{"field": f.field, "message": f.message} for f in fields],
        }
    }


def error_response(status: int, message: str, code: str = "", fields=(), headers=None):
    response = jsonify(error_body(status, message, code, fields))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(err: APIError):
        return error_response(err.status, err.message, err.code, err.fields, err.headers)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        message = _MESSAGES.get(status) or (err.description or err.name)
        response = error_response(status, message)
        if status == 405 and err.response is None:
            allowed = err.get_headers()
            response.headers.extend(h for h in allowed if h[0] == "Allow")
        if status == 429:
            response.headers["Retry-After"] = _limit_retry_after()
        return response

    def _limit_retry_after() -> str:
        # Until the limit that was hit lets one more request through (api/limits.py).
        return str(retry_after_seconds())

    def _database_unavailable(err: Exception):
        # Never the exception's text: it holds the SQL and the server's address. Logged
        # once per outage (the store knows when a new connection succeeds again).
        if services(app).store.outage.first_failure():
            log.error("database unavailable (%s); answering 503 until it is back",
                      type(err).__name__)
        return error_response(503, _MESSAGES[503], headers={"Retry-After": DATABASE_RETRY_AFTER})

    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("unhandled error")
        return error_response(500, _MESSAGES[500])

"""The request pipeline: what a view takes and returns, and the policies it runs under.

A view declares itself with `@operation(...)`. The decorator parses and validates the
query string and JSON body (answering 415/400/422 in the common error shape), answers 401
first for `signed_in` operations, and serialises the returned model. It also records the
declaration on the view (`view.operation`), from which

- `radiocalico.api.openapi.build_spec` describes every route from the very models that
  validate it, and
- the app factory applies the policy declared with it: the rate `limits` (see
  `declared_operations`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.routing import BaseConverter

from radiocalico.api.header import Header
from radiocalico.api.identity import require_user
from radiocalico.api.limits import Limit  # noqa: F401 (declared with operations: @operation(limits=...))
from radiocalico.errors import APIError, FieldError
from radiocalico.songs import SONG_ID_PATTERN


class SongIdConverter(BaseConverter):
    """`<songid:song_id>`: anything but a well-formed id is simply not found."""

    regex = SONG_ID_PATTERN.strip("^$")
    # The path parameter's schema in the OpenAPI document.
    schema = {"type": "string", "pattern": SONG_ID_PATTERN}


# URL converters the routes use, by the name they use them under.
CONVERTERS = {"songid": SongIdConverter}


@dataclass(frozen=True)
class Operation:
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    headers: tuple[Header, ...] = ()
    signed_in: bool = False
    limits: tuple[Limit, ...] = ()
    raw_body: str = ""  # the media type of a body the view reads itself (an upload), if any


def operation(
    *,
    summary: str,
    tags: tuple[str, ...],
    responses: dict[int, tuple[str, type[BaseModel] | None]],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: tuple[Header, ...] = (),
    signed_in: bool = False,
    limits: tuple[Limit, ...] = (),
    raw_body: str = "",
) -> Callable:
    """`signed_in`: answer 401 without a session, before the input is validated
    (documented as the `session` security requirement).
    `limits`: rate limits, each applied in turn (the first is the innermost).
    `raw_body`: the media type of a body the view streams itself (documented, not parsed)."""
    spec = Operation(summary, tags, body, query, responses, headers, signed_in, limits, raw_body)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**path_args):
            if signed_in:
                require_user()
            if query is not None:
                path_args["query"] = _validate(query, request.args.to_dict(), location="query")
            if body is not None:
                path_args["body"] = _validate(body, _json_body(), location="body")
            return _render(view(**path_args))

        wrapper.operation = spec
        return wrapper

    return decorator


def declared_operations(app: Flask) -> Iterator[tuple[str, Operation]]:
    """(endpoint, declaration) of every view declared with `@operation`."""
    for endpoint, view in list(app.view_functions.items()):
        spec = getattr(view, "operation", None)
        if spec is not None:
            yield endpoint, spec


# No request body of ours nests deeper than 2; the parser recurses per level, so a deep
# document is refused before it is parsed (a 5,000-level array used to raise RecursionError).
MAX_JSON_DEPTH = 32


def _nesting_depth(raw: bytes, limit: int) -> int:
    """How deep the arrays and objects of `raw` nest, counting up to `limit` + 1 (brackets
    inside strings do not count). One pass, no recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def json_object_or_none() -> dict | None:
    """The request's JSON object if it is one and safe to parse, else None: for rate-limit
    keys, which run before the operation validates the body."""
    raw = request.get_data(cache=True)
    if _nesting_depth(raw, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return None
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise APIError(415, "Send the request body as application/json.")
    if _nesting_depth(request.get_data(cache=True), MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise APIError(
            422,
            f"The request body nests deeper than {MAX_JSON_DEPTH} levels.",
            fields=[FieldError("body", "too deeply nested")],
        )
    data = request.get_json(silent=True)
    if data is None:
        raise APIError(400, "The request body is not valid JSON.")
    return data


def _validate(model: type[BaseModel], data: Any, location: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [
            FieldError(".".join(str(p) for p in err["loc"]) or location, err["msg"])
            for err in exc.errors(include_url=False, include_input=False)
        ]
        raise APIError(422, f"The request {location} is not valid.", fields=fields) from None


def _render(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status = 200
    if isinstance(result, tuple):
        result, status = result
    response = jsonify(result.model_dump(mode="json")) if result is not None else Response()
    response.status_code = status if result is not None else 204
    return response

"""Request validation and the OpenAPI 3.1 document, both driven by the same pydantic models.

A view declares what it takes and returns with `@operation(...)`; the decorator parses
and validates the query string and JSON body (answering 415/400/422 in the common error
shape), serialises the returned model, and records everything so that `build_spec(app)`
can describe every route from the very models that validate it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import BaseConverter

from radiocalico import __version__
from radiocalico.errors import APIError, FieldError
from radiocalico.api.schemas import ErrorResponse
from radiocalico.songs import SONG_ID_PATTERN


class SongIdConverter(BaseConverter):
    """`<songid:song_id>`: anything but a well-formed id is simply not found."""

    regex = SONG_ID_PATTERN.strip("^$")


PATH_SCHEMAS = {"songid": {"type": "string", "pattern": SONG_ID_PATTERN}}


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    schema: dict


@dataclass
class Operation:
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, tuple[str, type[BaseModel] | None]]
    headers: tuple[Header, ...] = ()
    signed_in: bool = False


def operation(
    *,
    summary: str,
    tags: tuple[str, ...],
    responses: dict[int, tuple[str, type[BaseModel] | None]],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: tuple[Header, ...] = (),
    signed_in: bool = False,
) -> Callable:
    """`signed_in`: answer 401 without a session, before the input is validated
    (documented as the `session` security requirement)."""
    spec = Operation(summary, tags, body, query, responses, headers, signed_in)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(**path_args):
            if signed_in:
                # Imported here: identity.py imports Header from this module.
                from radiocalico.api.identity import require_user

                require_user()
            if query is not None:
                path_args["query"] = _validate(query, request.args.to_dict(), location="query")
            if body is not None:
                path_args["body"] = _validate(body, _json_body(), location="body")
            return _render(view(**path_args))

        wrapper.openapi = spec
        return wrapper

    return decorator


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise APIError(415, "Send the request body as application/json.")
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


# ---------------------------------------------------------------------------------------
# The document


def build_spec(app: Flask) -> dict:
    operations: list[tuple[str, str, Operation]] = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = getattr(view, "openapi", None)
        if spec is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations.append((rule, method.lower(), spec))

    models = {ErrorResponse}
    for _, _, spec in operations:
        models.update(m for _, m in spec.responses.values() if m is not None)
        models.update(m for m in (spec.body, spec.query) if m is not None)
    ref = "#/components/schemas/{model}"
    keyed = [(m, "validation") for m in models] + [(m, "serialization") for m in models]
    refs, components = models_json_schema(keyed, ref_template=ref)

    paths: dict[str, dict] = {}
    for rule, method, spec in operations:
        path, params = _openapi_path(rule)
        operation_id = f"{rule.endpoint.replace('.', '_')}_{method}"
        paths.setdefault(path, {})[method] = _operation_object(spec, params, refs, operation_id)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RadioCalico API",
            "version": __version__,
            "description": "Ratings, accounts and health of the RadioCalico station.",
        },
        "paths": paths,
        "components": {
            "schemas": components.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "radiocalico_session"}
            },
        },
    }


def _openapi_path(rule) -> tuple[str, list[dict]]:
    params = []
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", rule.rule):
        converter, name = match.group(1) or "default", match.group(2)
        schema = PATH_SCHEMAS.get(converter, {"type": "string"})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        path = path.replace(match.group(0), "{" + name + "}")
    return path, params


def _operation_object(spec: Operation, params: list[dict], refs: dict, operation_id: str) -> dict:
    parameters = list(params)
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    for header in spec.headers:
        parameters.append(
            {"name": header.name, "in": "header", "required": False,
             "description": header.description, "schema": header.schema}
        )
    error_ref = refs[(ErrorResponse, "serialization")]
    responses: dict[str, dict] = {}
    for status, (description, model) in spec.responses.items():
        entry: dict[str, Any] = {"description": description}
        if model is not None:
            entry["content"] = {
                "application/json": {"schema": refs[(model, "serialization")]}
            }
        responses[str(status)] = entry
    responses["default"] = {
        "description": "An error, in the common JSON error shape.",
        "content": {"application/json": {"schema": error_ref}},
    }
    operation_object: dict[str, Any] = {
        "summary": spec.summary,
        "tags": list(spec.tags),
        "operationId": operation_id,
        "parameters": parameters,
        "responses": responses,
    }
    if spec.signed_in:
        operation_object["security"] = [{"session": []}]
    if spec.body is not None:
        operation_object["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(spec.body, "validation")]}},
        }
    return operation_object

"""The OpenAPI 3.1 document, built from the operations the views declare.

Every view declared with `@operation` (radiocalico.api.operation) carries its declaration;
`build_spec(app)` walks the app's routes and describes each from the very pydantic models
that validate its input and serialise its output, so the document and the code cannot
drift apart. The services build it once, on first request.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic.json_schema import models_json_schema

from radiocalico import __version__
from radiocalico.api.operation import Operation
from radiocalico.api.schemas import ErrorResponse


def build_spec(app: Flask) -> dict:
    operations: list[tuple[str, str, Operation]] = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = getattr(view, "operation", None)
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
        path, params = _openapi_path(rule, app.url_map.converters)
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


def _openapi_path(rule, converters: dict) -> tuple[str, list[dict]]:
    params = []
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", rule.rule):
        converter, name = match.group(1) or "default", match.group(2)
        schema = getattr(converters.get(converter), "schema", {"type": "string"})
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
    elif spec.raw_body:
        operation_object["requestBody"] = {
            "required": True,
            "content": {spec.raw_body: {"schema": {"type": "string", "contentMediaType": spec.raw_body}}},
        }
    return operation_object

"""The player's API client against the API's own document: every operation the page calls
(static/api/operations.js) exists in /api/openapi.json with the status it expects, and every
field it sends or reads is one the document declares for that request or response."""

from __future__ import annotations

import pytest
import requests

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

FINGERPRINT_HEADER = "X-Listener-Fingerprint"


@pytest.fixture
def declared(page, station_server) -> dict:
    """operations.js's OPERATIONS and ERROR_READS, as the browser loads them."""
    goto(page, station_server.url + "/")
    return page.evaluate("""async () => {
      const { OPERATIONS, ERROR_READS } = await import('/static/api/operations.js');
      return { operations: OPERATIONS, error: ERROR_READS };
    }""")


@pytest.fixture(scope="module")
def document(station_server) -> dict:
    response = requests.get(station_server.url + "/api/openapi.json", timeout=10)
    response.raise_for_status()
    return response.json()


def variants(document: dict, schema: dict) -> list[dict]:
    """The schemas a value may have: `$ref`s followed, `anyOf`/`oneOf` (nullable) spread."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [v for sub in schema[key] for v in variants(document, sub)]
    return [schema]


def undocumented(document: dict, shape, schema: dict, where: str) -> list[str]:
    """The fields of a read shape (see operations.js) that `schema` does not declare."""
    if shape is True:
        return []
    found = variants(document, schema)
    if isinstance(shape, list):
        lists = [v for v in found if v.get("type") == "array"]
        if not lists:
            return [f"{where} (not a list)"]
        return undocumented(document, shape[0], lists[0]["items"], f"{where}[]")
    objects = [v for v in found if "properties" in v]
    if not objects:
        return [f"{where} (not an object)"]
    properties = objects[0]["properties"]
    missing = []
    for name, inner in shape.items():
        if name not in properties:
            missing.append(f"{where}.{name}")
        else:
            missing += undocumented(document, inner, properties[name], f"{where}.{name}")
    return missing


def documented_operation(document: dict, operation: dict) -> dict:
    return document["paths"][operation["path"]][operation["method"].lower()]


def json_schema(entry: dict) -> dict | None:
    return entry.get("content", {}).get("application/json", {}).get("schema")


def test_every_operation_is_documented_with_the_status_the_player_expects(declared, document):
    for name, operation in declared["operations"].items():
        assert operation["path"] in document["paths"], name
        assert operation["method"].lower() in document["paths"][operation["path"]], name
        responses = documented_operation(document, operation)["responses"]
        assert str(operation["status"]) in responses, f"{name}: {sorted(responses)}"
        has_body = json_schema(responses[str(operation["status"])]) is not None
        assert has_body == (operation["reads"] is not None), f"{name} reads a body the API does not send"


def test_every_field_the_player_reads_is_documented(declared, document):
    missing = []
    for name, operation in declared["operations"].items():
        if operation["reads"] is None:
            continue
        response = documented_operation(document, operation)["responses"][str(operation["status"])]
        missing += undocumented(document, operation["reads"], json_schema(response), name)
    assert missing == []


def test_every_field_the_player_sends_is_documented(declared, document):
    missing = []
    for name, operation in declared["operations"].items():
        if "sends" not in operation:
            continue
        body = json_schema(documented_operation(document, operation)["requestBody"])
        properties = variants(document, body)[0]["properties"]
        missing += [f"{name}.{field}" for field in operation["sends"] if field not in properties]
    assert missing == []


def test_the_error_fields_the_player_reads_are_every_operations_error_shape(declared, document):
    error_schema = {"$ref": "#/components/schemas/ErrorResponse"}
    assert undocumented(document, declared["error"], error_schema, "error") == []
    for name, operation in declared["operations"].items():
        default = documented_operation(document, operation)["responses"]["default"]
        assert json_schema(default) == error_schema, name


def test_the_operations_that_send_the_fingerprint_are_those_that_take_it(declared, document):
    for name, operation in declared["operations"].items():
        parameters = documented_operation(document, operation).get("parameters", [])
        takes = any(p["in"] == "header" and p["name"] == FINGERPRINT_HEADER for p in parameters)
        assert bool(operation.get("listener")) == takes, name


def test_the_check_finds_a_field_the_document_does_not_declare(document):
    """The checks above can fail: a misspelt field, nested or in a list, is reported."""
    rating = {"$ref": "#/components/schemas/RatingOut"}
    assert undocumented(document, {"song_id": True, "my_votes": True}, rating, "vote") == ["vote.my_votes"]
    ratings = {"$ref": "#/components/schemas/RatingsOut"}
    shape = {"ratings": [{"song_id": True, "upvotes": True}]}
    assert undocumented(document, shape, ratings, "ratings") == ["ratings.ratings[].upvotes"]
    assert undocumented(document, {"ratings": {"up": True}}, ratings, "r") == ["r.ratings (not an object)"]

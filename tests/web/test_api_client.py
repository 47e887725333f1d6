"""The player's API transport in Chromium against the real API: errors arrive in the
documented error shape, and a request that gets no answer ends in a timeout."""

from __future__ import annotations

import pytest

from tests.web.test_player_browser import goto

pytestmark = [pytest.mark.browser]

CALL = """async ([method, path, body, timeoutMs]) => {
  const { request } = await import('/static/api/transport.js');
  try {
    return { data: await request(method, path, { body: body ?? undefined, timeoutMs }) };
  } catch (err) {
    return { error: { name: err.name, status: err.status, code: err.code, message: err.message,
                      fields: err.fields } };
  }
}"""


def test_a_refused_request_is_an_api_error_with_its_fields(page, console, station_server):
    console.allow_network_noise = True  # Chromium logs the 422
    goto(page, station_server.url + "/")
    result = page.evaluate(CALL, ["POST", "/api/users", {"username": "x"}, 5000])
    error = result["error"]
    assert error["name"] == "ApiError" and error["status"] == 422
    assert error["code"] and error["message"]
    assert error["fields"] and all(set(f) == {"field", "message"} for f in error["fields"])


def test_a_request_without_an_answer_times_out(page, station_server):
    goto(page, station_server.url + "/")
    page.route("**/api/config", lambda route: None)  # never answered
    result = page.evaluate(CALL, ["GET", "/api/config", None, 300])
    assert result["error"]["code"] == "timeout"
    page.unroute_all(behavior="ignoreErrors")

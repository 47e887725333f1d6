"""`Services.close()`: an app made by a test or a script gives back its thread and its
database connections, so that a long test run does not exhaust PostgreSQL's."""

from __future__ import annotations

import time

from radiocalico.services import services


def test_close_stops_the_recorder_and_leaves_no_connection_open(make_app):
    app = make_app(history_poll_seconds=0.05)
    shared = services(app)
    assert app.test_client().get("/api/now-playing").status_code == 200
    assert shared.recorder.running
    assert shared.store.engine.pool.checkedin() >= 1  # the request's connection, pooled

    shared.close()
    assert not shared.recorder.running
    time.sleep(0.3)  # several polls' worth: nothing reconnects
    assert shared.store.engine.pool.checkedin() == 0
    assert shared.store.engine.pool.checkedout() == 0
    # A request after close does not start the recorder again.
    app.test_client().get("/health")
    assert not shared.recorder.running

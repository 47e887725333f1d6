"""The app's shared objects, made once by the app factory and reached through `services()`.

Views, hooks and the player page ask `services()` for what they share (settings, the
database, the rate limiter, the stream listeners, the play recorder, the OpenAPI document)
instead of reading loose keys out of `app.extensions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, current_app

from radiocalico.api.limits import RateLimiter
from radiocalico.api.passwords import Passwords
from radiocalico.config import Config
from radiocalico.db.store import Store
from radiocalico.listeners import StreamListeners
from radiocalico.recorder import Recorder

_EXTENSION = "radiocalico"


@dataclass(frozen=True)
class Services:
    config: Config
    store: Store
    # The rate limits' counters (Redis, or this process's memory).
    limiter: RateLimiter
    # Listeners of the stream (playlist fetches), and the play recorder.
    stream_listeners: StreamListeners
    recorder: Recorder
    # Password hashing, at most PASSWORD_HASH_CONCURRENCY at once in this process.
    passwords: Passwords
    # The OpenAPI document, built on first use (every route is registered by then).
    openapi: Callable[[], dict]

    def init_app(self, app: Flask) -> None:
        app.extensions[_EXTENSION] = self

    def close(self) -> None:
        """Stop the recorder's and the password hashing threads and close the database
        connections. For whoever made the app and is done with it while its process lives
        on (tests, scripts): a server process just exits. Flask has no app-level teardown
        (teardown_appcontext runs after every request), so the maker calls this."""
        self.recorder.stop()
        self.passwords.close()
        self.store.dispose()


def services(app: Flask | None = None) -> Services:
    """The services of `app`, by default of the app handling the current request."""
    return (current_app if app is None else app).extensions[_EXTENSION]

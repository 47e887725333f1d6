"""Who may keep an answer: public answers carry no cookie, personal ones are never stored.

A public answer (`Cache-Control: public`, see api/public.py) may sit in a shared cache and
be handed to anyone, so it must not carry the caller's session cookie: Flask refreshes a
permanent session's cookie on every answer, which would give a signed-in listener's cookie
to whoever the cache serves next. Every other answer under /api/ may be about the caller
(their vote, their account), so unless its view chose otherwise it is `private, no-store`.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

PERSONAL = "private, no-store"


class _NoCookieOnPublicAnswers(SecureCookieSessionInterface):
    def save_session(self, app, session, response: Response) -> None:
        if response.cache_control.public:
            return
        super().save_session(app, session, response)


def _personal_by_default(response: Response) -> Response:
    if request.path.startswith("/api/") and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = PERSONAL
    return response


def init_app(app: Flask) -> None:
    app.session_interface = _NoCookieOnPublicAnswers()
    app.after_request(_personal_by_default)

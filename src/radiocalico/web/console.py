"""/console: the operator console's page (its scripts and style sheet are static files under
static/console/, its data the /api/console/ API).

Who sees what: an operator gets the console; a signed-in account without the role a 403
page; a visitor who is not signed in the console's shell, whose script shows a sign-in
form (and reloads once signed in). The page carries the player's strict
Content-Security-Policy: nothing leaves our origin.
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory

from radiocalico.api.identity import current_user
from radiocalico.services import services
from radiocalico.web.player import content_security_policy
from radiocalico.web.vendor import STATIC_DIR

bp = Blueprint("console_page", __name__)

CONSOLE_DIR = STATIC_DIR / "console"


@bp.get("/console")
@bp.get("/console/")
def console_page():
    user = current_user()
    forbidden = user is not None and user.role != "operator"
    response = send_from_directory(CONSOLE_DIR, "forbidden.html" if forbidden else "index.html", max_age=0)
    if forbidden:
        response.status_code = 403
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = content_security_policy(services().config.resolved_stream_base_url)
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

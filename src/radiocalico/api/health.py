"""/health: is the service up and can it reach its database? Cheap enough to poll often."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from radiocalico import __version__
from radiocalico.api import schemas as s
from radiocalico.api.operation import operation
from radiocalico.services import services

bp = Blueprint("health", __name__)
log = logging.getLogger("radiocalico")


def database_reachable() -> bool:
    """One `SELECT 1`; False (with a log line, never the error text to a client) if the
    database does not answer. Liveness and readiness both ask."""
    try:
        with services().store.reading() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("database unreachable (%s)", type(exc).__name__)
        return False
    return True


@bp.get("/health")
@operation(
    summary="Service and database health",
    tags=("health",),
    responses={
        200: ("Healthy", s.HealthOut),
        503: ("The database is unreachable", s.HealthOut),
    },
)
def health():
    if not database_reachable():
        body = s.HealthOut(
            status="unavailable",
            version=__version__,
            database="unreachable",
            reason="The database does not answer.",
        )
        return body, 503
    return s.HealthOut(status="ok", version=__version__, database="ok")

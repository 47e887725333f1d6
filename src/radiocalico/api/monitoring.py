"""The operations endpoints, `/health/ready` and `/metrics`, and the request metrics.

Readiness lives in api/readiness.py, the metrics in api/metrics.py; this module mounts
both on one blueprint because their endpoint names (`monitoring.ready`,
`monitoring.metrics`) are labels of the request metrics that dashboards select on.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from radiocalico.api import metrics, readiness

bp = Blueprint("monitoring", __name__)
bp.add_url_rule("/health/ready", "ready", readiness.ready)
bp.add_url_rule("/metrics", "metrics", metrics.scrape)


def init_app(app: Flask) -> None:
    """Register /health/ready and /metrics and instrument every request."""
    app.register_blueprint(bp)
    metrics.instrument(app)

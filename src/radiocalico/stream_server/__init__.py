"""Low-Latency HLS requests that wait (blocking playlist reload, preload-hinted parts): the
shared decisions (`blocking`) and the asynchronous server production runs behind nginx
(`asgi`)."""

from .asgi import StreamServer, create_app

__all__ = ["StreamServer", "create_app"]

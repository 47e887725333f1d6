"""RadioCalico: a lossless internet radio station delivered as software."""

__version__ = "0.1.0"

__all__ = ["create_app", "__version__"]


def __getattr__(name: str):
    # `radiocalico:create_app()` for the app server (deploy/serve.py), without making `radiocalico station`
    # (which never serves HTTP) import Flask and the API.
    if name == "create_app":
        from radiocalico.app import create_app

        return create_app
    raise AttributeError(f"module 'radiocalico' has no attribute {name!r}")

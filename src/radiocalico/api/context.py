"""Kept only for web/stream.py, which still imports `config` from here.

Everything else reaches the app's shared objects through `radiocalico.services.services()`;
delete this module once web/stream.py does too.
"""

from radiocalico.config import Config
from radiocalico.services import services


def config() -> Config:
    return services().config

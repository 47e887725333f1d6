"""Atomic file writes: a reader sees the old file or the new one, never a partial one."""

from __future__ import annotations

import os
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write `data` to a hidden temp file in the same folder, then os.replace() it over `path`."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_stale_temp_files(folder: Path) -> None:
    """Remove temp files a killed process may have left behind."""
    try:
        for entry in Path(folder).iterdir():
            if entry.name.startswith(TEMP_PREFIX):
                try:
                    entry.unlink()
                except OSError:
                    pass
    except OSError:
        pass

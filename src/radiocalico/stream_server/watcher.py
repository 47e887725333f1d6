"""One poller per process for the files listeners wait on.

Every request waiting on a playlist (or on a part named by a preload hint) awaits the
file's `asyncio.Event` of the moment; one task looks at each waited-on file's inode, size
and modification time every `interval` seconds and, on a change, reads it once, keeps its
content for every waiter and wakes them all. So a thousand waiting listeners cost one `stat`
per file per interval and one read per change, not a thread or a read each. (The station
replaces files by rename, so the inode changes with every write.)
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path


class _File:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signature: tuple[int, int, int] | None = None
        self.data: bytes | None = None
        self.waiters = 0


class Watcher:
    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self._files: dict[Path, _File] = {}
        self._task: asyncio.Task | None = None

    def _file(self, path: Path) -> _File:
        entry = self._files.get(path)
        if entry is None:
            entry = self._files[path] = _File()
            self._refresh(path, entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())
        return entry

    def current(self, path: Path) -> bytes | None:
        """The file's content as last seen (None: absent)."""
        entry = self._file(path)
        if not entry.waiters:  # nobody waits, so the poller may not have looked lately
            self._refresh(path, entry)
        return entry.data

    async def changed(self, path: Path, timeout: float) -> bool:
        """Wait until the file changes; False after `timeout` seconds without a change."""
        entry = self._file(path)
        event = entry.event
        entry.waiters += 1
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            entry.waiters -= 1

    def _refresh(self, path: Path, entry: _File) -> bool:
        try:
            st = os.stat(path)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            signature = None
        if signature == entry.signature:
            return False
        entry.signature = signature
        try:
            entry.data = path.read_bytes() if signature is not None else None
        except OSError:
            entry.data = None
        return True

    async def _poll(self) -> None:
        idle = 0
        while idle < 1000:  # stops after ~10 s with no one waiting; restarted on demand
            for path, entry in list(self._files.items()):
                if entry.waiters and self._refresh(path, entry):
                    entry.event.set()
                    entry.event = asyncio.Event()
            # Files no one waits on are forgotten (read afresh when asked again): the parts
            # waited on come and go, and their content is not kept.
            for path in [p for p, e in self._files.items() if not e.waiters]:
                del self._files[path]
            idle = 0 if self._files else idle + 1
            await asyncio.sleep(self.interval)

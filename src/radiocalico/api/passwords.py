"""Password hashing with bounded work, and the password policy.

Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes, ~0.2 s
of a core here) is deliberately expensive, so a flood of password checks could starve
every other request of CPU, memory and threads. At most `PASSWORD_HASH_CONCURRENCY` hashes
run at once in the whole app server, all its worker processes together (slots are lock
files in the instance folder, held with flock, which the kernel lets go when a process
dies). A check that finds no free slot is answered 503 `busy` with Retry-After at once:
waiting for one would hold a request thread, and a worker has only a few, which
/health and every other request need (bench/signin_flood). With the per-account and
per-address rate limits of the operations (api/users.py), that bounds what many
addresses together can make the server do.

A hash in progress must not slow the other requests either: Argon2 runs 4 lanes in
threads of its own and takes every core of a small machine for its ~0.1 s, so a probe of
/health arriving meanwhile waited for the CPU (p99 93-187 ms through nginx during the
flood). Each worker process therefore hashes in a thread of its own whose CPU priority
is lowered (`PASSWORD_HASH_PRIORITY`; Linux keeps a scheduling policy and nice value per
thread, and the lanes' threads inherit them): by default SCHED_IDLE, so any request
thread that wakes up takes the CPU from a hash at once, where a nice value only shares it
less. The hash only takes longer while the server is busy; its parameters are unchanged.
"""

from __future__ import annotations

import fcntl
import functools
import gzip
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords, lower case (data/COMMON-PASSWORDS.md: source,
    licence); read once per process."""
    data = resources.files(__package__).joinpath("data", "common-passwords.txt.gz")
    with gzip.open(data.open("rb"), "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


# What people type for letters in a "clever" password; 1 and ! are tried as both i and l.
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "0": "o", "$": "s", "5": "s", "7": "t",
                       "+": "t", "9": "g", "8": "b", "6": "g", "1": "i", "!": "i", "|": "l"})
_LEET_L = str.maketrans({"1": "l", "!": "l"})
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_REPEATED = re.compile(r"(.+?)\1+")
SITE_NAME = "radiocalico"


def guessable_forms(folded: str) -> set[str]:
    """The common passwords `folded` (lower case) may be dressed up from: with the digits and
    symbols around it stripped, leetspeak read back as letters, a word typed twice once."""
    forms = set()
    for bare in (folded, _EDGES.sub("", folded)):
        for form in (bare, bare.translate(_LEET_L).translate(_LEET), bare.translate(_LEET)):
            forms.add(form)
            forms.add(_EDGES.sub("", form))
    forms |= {form.replace(" ", "") for form in forms}
    forms |= {whole.group(1) for form in forms if (whole := _REPEATED.fullmatch(form))}
    return forms - {""}


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` is too weak to accept, or None. Length is checked by the schema
    (10 to 128); this refuses what a length rule lets through: one character repeated,
    white space only, a common password (case-insensitive, NIST SP 800-63B 5.1.1.2's
    blocklist), also dressed up (`guessable_forms`: p@ssw0rd123, passwordpassword), the
    site's name, the account's own username or e-mail address (or their local part)."""
    folded = password.strip().lower()
    if not folded:
        return "must not be only spaces"
    if len(set(folded)) < 3:
        return "must use more than one or two different characters"
    if folded in common_passwords():
        return "is one of the most common passwords; choose one nobody would guess"
    forms = guessable_forms(folded)
    if any(SITE_NAME in re.sub(r"[^a-z]", "", form) for form in forms):
        return "must not contain the name of this site"
    if not forms.isdisjoint(common_passwords()):
        return "is a common password with a few changes; choose one nobody would guess"
    own = {username.lower(), email.lower(), email.lower().split("@")[0]} - {""}
    if any(folded == name or (len(name) >= 4 and name in folded) for name in own):
        return "must not contain your username or e-mail address"
    return None


class Busy(Exception):
    """Every hashing slot of the server is taken: answer 503 (api/users.py)."""


class _Slot:
    """One hash at a time across the server's processes: a lock file held with flock.
    flock belongs to the open file, which all threads of a process share, so a thread lock
    keeps this process's threads apart first."""

    def __init__(self, path: Path):
        self._path = path
        self._fd: int | None = None  # opened on first use: workers fork after start-up
        self._thread_lock = threading.Lock()

    def try_acquire(self) -> bool:
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            self._thread_lock.release()
            return False

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


log = logging.getLogger("radiocalico")


def _lower_priority(nice: int | None) -> None:
    """Runs in each hashing thread as it starts: put this thread in SCHED_IDLE (`nice`
    None) or raise its nice value by `nice`; lowering a priority needs no privilege, and
    the request threads keep theirs."""
    thread = threading.get_native_id()
    try:
        if nice is None:
            os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
        elif nice > 0:
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, current + nice))
    except (OSError, AttributeError) as exc:  # not Linux, or a sandbox that forbids it
        log.warning("password hashing keeps the request threads' CPU priority (%s)", exc)


class Passwords:
    def __init__(self, concurrency: int, lock_dir: Path, nice: int | None = None):
        self._hasher = PasswordHasher()
        common_passwords()  # read at start-up, not on a listener's first sign-up
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._slots = [_Slot(lock_dir / f"password-hash-{n}.lock") for n in range(max(1, concurrency))]
        # Its threads start on the first hash, in the worker process (workers fork after
        # start-up, and a fork keeps no threads).
        self._hashers = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="password-hash",
                                           initializer=_lower_priority, initargs=(nice,))
        # Verified against when the login names no account, so that a wrong username takes
        # as long as a wrong password and the answer does not reveal which accounts exist.
        self._dummy = self._hasher.hash("radiocalico-no-such-account")

    def _hashing(self, work):
        for slot in self._slots:
            if slot.try_acquire():
                try:
                    return self._hashers.submit(work).result()
                finally:
                    slot.release()
        raise Busy

    def close(self) -> None:
        self._hashers.shutdown(wait=False, cancel_futures=True)

    def hash(self, password: str) -> str:
        return self._hashing(lambda: self._hasher.hash(password))

    def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` is the one of `password_hash` (None: no such account, still
        checked against a dummy hash for the same cost)."""

        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash or self._dummy, password)
            except (VerificationError, InvalidHashError):
                return False

        return self._hashing(verify) and password_hash is not None

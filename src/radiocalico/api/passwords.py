"""Password hashing with bounded work, and the password policy.

Argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes) is
deliberately expensive, so a flood of password checks could starve every other request
of CPU and memory. At most `PASSWORD_HASH_CONCURRENCY` hashes run at once per process;
a check that cannot start within a moment is answered 503 with Retry-After instead of
queueing (with the per-account and per-address rate limits of the operations, see
api/users.py).
"""

from __future__ import annotations

import functools
import gzip
import threading
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 20,000 most common passwords, lower case (data/COMMON-PASSWORDS.md: source,
    licence); read once per process."""
    data = resources.files(__package__).joinpath("data", "common-passwords.txt.gz")
    with gzip.open(data.open("rb"), "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why `password` is too weak to accept, or None. Length is checked by the schema
    (10 to 128); this refuses what a length rule lets through: one character repeated,
    white space only, a common password (case-insensitive, NIST SP 800-63B 5.1.1.2's
    blocklist), the account's own username or e-mail address (or their local part)."""
    folded = password.strip().lower()
    if not folded:
        return "must not be only spaces"
    if len(set(folded)) < 3:
        return "must use more than one or two different characters"
    if folded in common_passwords():
        return "is one of the most common passwords; choose one nobody would guess"
    own = {username.lower(), email.lower(), email.lower().split("@")[0]} - {""}
    if any(folded == name or (len(name) >= 4 and name in folded) for name in own):
        return "must not contain your username or e-mail address"
    return None


class Busy(Exception):
    """Every hashing slot of this process stayed taken: answer 503 (api/users.py)."""

# How long a check waits for a free slot before answering 503.
_WAIT_SECONDS = 0.5


class Passwords:
    def __init__(self, concurrency: int):
        self._hasher = PasswordHasher()
        common_passwords()  # read at start-up, not on a listener's first sign-up
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        # Verified against when the login names no account, so that a wrong username takes
        # as long as a wrong password and the answer does not reveal which accounts exist.
        self._dummy = self._hasher.hash("radiocalico-no-such-account")

    def _slot(self):
        if not self._slots.acquire(timeout=_WAIT_SECONDS):
            raise Busy
        return self._slots

    def hash(self, password: str) -> str:
        slot = self._slot()
        try:
            return self._hasher.hash(password)
        finally:
            slot.release()

    def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` is the one of `password_hash` (None: no such account, still
        checked against a dummy hash for the same cost)."""
        slot = self._slot()
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False
        finally:
            slot.release()

"""Hashing what people and systems sign in with (pure apart from the CPU it costs).

**Passwords** are chosen by people, so they are guessable: each is hashed with argon2id
(argon2-cffi's defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes, about
0.1 s here), a salt of its own in the PHC string. A stolen database costs an attacker that
memory and time per guess. At least :data:`PASSWORD_MIN` characters.

**Tokens** are made here, 32 random bytes (256 bits) from :mod:`secrets`: nobody can guess
one, so a fast hash is enough -- SHA-256, which lets the API find a token by its hash in an
index on every request (argon2 at 0.1 s a request would cap the API at a few requests a
second per core, and a salted hash could not be looked up). The token is shown once, when
made; only its hash is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.exceptions import AccessError

PASSWORD_MIN = 12  # characters: a passphrase of three words passes, a word and a year does not
PASSWORD_MAX = 1024  # characters: a bound on the work one sign-in may ask of argon2
TOKEN_PREFIX = "gw_"  # says what a leaked string is (secret scanners match prefixes)
TOKEN_BYTES = 32


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def check_password(password: str) -> str:
    """A password as it is kept: at least :data:`PASSWORD_MIN` characters (not trimmed:
    blanks count), not only blanks. The message never repeats the password."""
    if not password.strip():
        raise AccessError("the password is empty: choose one of at least 12 characters")
    if len(password) < PASSWORD_MIN:
        raise AccessError(
            f"the password is {len(password)} characters long: at least {PASSWORD_MIN} "
            "(a few words in a row are easier to remember than symbols)"
        )
    if len(password) > PASSWORD_MAX:
        raise AccessError(f"the password is {len(password)} characters long: at most {PASSWORD_MAX}")
    return password


def hash_password(password: str) -> str:
    """argon2id PHC string of ``password`` (salt and parameters in it)."""
    return _hasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Does ``password`` match the stored hash? Never raises for a wrong one."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _stand_in() -> str:
    return hash_password(secrets.token_urlsafe(16))


def spend_a_verify(password: str) -> None:
    """The work of one :func:`password_matches` on nobody's hash: an unknown or disabled user
    takes as long to refuse as a wrong password, so timing does not tell which names exist."""
    password_matches(_stand_in(), password)


def new_token() -> str:
    """A new API token: ``gw_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """Hex SHA-256 of ``token``: what the store keeps and looks a token up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

"""Staff password policy, strong password generation and argon2id hashing."""

from __future__ import annotations

import contextlib
import re
import secrets
import string
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, field_validator

from bridge.errors import ConfigError

MIN_LENGTH = 12
# Chatwoot's platform API accepts at most 128 characters; it also bounds argon2 input size.
MAX_LENGTH = 128
GENERATED_LENGTH = 24
# Mailcow's own generator alphabet minus '?', which not every consumer counts as "special".
SPECIALS = "!@#$%^&*()="
_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits + SPECIALS
_IDENTIFIER_SPLIT_RE = re.compile(r"[._+-]+")
_MIN_IDENTIFIER_LEN = 3
_MIN_PART_LEN = 4
_MIN_DISTINCT_CHARS = 5
_GENERATE_ATTEMPTS = 100


@lru_cache(maxsize=1)
def load_common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (lowercase)."""
    text = resources.files("provisioning").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


class MailcowPasswordPolicy(BaseModel):
    """Mailcow's `PASSWD_POLICY` as returned by `GET /api/v1/get/passwordpolicy` (strings)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    length: int = 6
    chars: bool = False
    special_chars: bool = False
    lowerupper: bool = False
    numbers: bool = False

    @field_validator("chars", "special_chars", "lowerupper", "numbers", mode="before")
    @classmethod
    def _flag(cls, value: object) -> bool:
        return str(value).strip() not in ("", "0", "false", "False", "None")


@dataclass(frozen=True)
class PasswordPolicy:
    """Rules every staff password must satisfy; `merge_mailcow` tightens it to Mailcow's."""

    min_length: int = MIN_LENGTH
    max_length: int = MAX_LENGTH
    require_letter: bool = False
    require_special: bool = False
    require_lowerupper: bool = False
    require_digit: bool = False
    common_passwords: frozenset[str] = field(default_factory=load_common_passwords, repr=False)

    def merge_mailcow(self, mailcow: MailcowPasswordPolicy) -> PasswordPolicy:
        """The stricter of this policy and Mailcow's (a mailbox must accept our passwords)."""
        return replace(
            self,
            min_length=max(self.min_length, mailcow.length),
            require_letter=self.require_letter or mailcow.chars,
            require_special=self.require_special or mailcow.special_chars,
            require_lowerupper=self.require_lowerupper or mailcow.lowerupper,
            require_digit=self.require_digit or mailcow.numbers,
        )

    def check(self, password: str, username: str = "", email: str = "") -> list[str]:
        """Reasons the password is refused (empty list = accepted); never echoes the password."""
        reasons: list[str] = []
        # Mailcow compares `length` in bytes; bytes >= characters, so counting characters is
        # the stricter rule for ASCII and never weaker for Mailcow.
        if len(password) < self.min_length:
            reasons.append(f"must be at least {self.min_length} characters long")
        if len(password) > self.max_length:
            reasons.append(f"must be at most {self.max_length} characters long")
        if self.require_letter and not re.search(r"[A-Za-z]", password):
            reasons.append("must contain a letter")
        if self.require_lowerupper and not (
            re.search(r"[a-z]", password) and re.search(r"[A-Z]", password)
        ):
            reasons.append("must contain both lower-case and upper-case letters")
        if self.require_digit and not re.search(r"\d", password):
            reasons.append("must contain a digit")
        if self.require_special and not re.search(r"[^A-Za-z\d]", password):
            reasons.append("must contain a character that is not a letter or digit")
        if len(set(password)) < _MIN_DISTINCT_CHARS:
            reasons.append(f"must use at least {_MIN_DISTINCT_CHARS} different characters")
        lowered = password.lower()
        if _contains_identity(lowered, username, email):
            reasons.append("must not contain your username or email address")
        if self._is_common(lowered):
            reasons.append("is too common; choose a less predictable password")
        return reasons

    def _is_common(self, lowered: str) -> bool:
        # "Password2024!" is "password" with decoration: strip edge digits/symbols too.
        core = lowered.strip(string.digits + string.punctuation + " ")
        return lowered in self.common_passwords or core in self.common_passwords


def _contains_identity(lowered: str, username: str, email: str) -> bool:
    local_part = email.rpartition("@")[0] if "@" in email else email
    whole = {i for i in (username.lower(), local_part.lower()) if len(i) >= _MIN_IDENTIFIER_LEN}
    # Name parts ("ntulo" of "kay.ntulo") count too, but only when long enough to mean something.
    parts = {p for i in whole for p in _IDENTIFIER_SPLIT_RE.split(i) if len(p) >= _MIN_PART_LEN}
    return any(i in lowered for i in whole | parts)


def generate_password(policy: PasswordPolicy | None = None, length: int | None = None) -> str:
    """A random password from `secrets` that satisfies `policy` and any Mailcow policy."""
    effective = policy or PasswordPolicy()
    if effective.min_length > effective.max_length:
        raise ConfigError(
            f"password policy asks for {effective.min_length} characters, "
            f"more than the maximum of {effective.max_length}"
        )
    size = max(length or GENERATED_LENGTH, effective.min_length, 4)
    size = min(size, effective.max_length)
    for _ in range(_GENERATE_ATTEMPTS):
        # One of each class guarantees Mailcow's chars/lowerupper/numbers/special_chars rules.
        chars = [
            secrets.choice(string.ascii_lowercase),
            secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits),
            secrets.choice(SPECIALS),
        ]
        chars += [secrets.choice(_ALPHABET) for _ in range(size - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        if not effective.check(candidate):
            return candidate
    raise ConfigError("could not generate a password that satisfies the password policy")


# argon2id sized for a 2-core box: 64 MiB, 3 passes, 2 lanes (~50-100 ms per hash).
DEFAULT_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


def cheap_hasher() -> PasswordHasher:
    """A deliberately weak argon2id hasher for tests only."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """argon2id hash in PHC string form (CPU-bound: call via asyncio.to_thread in handlers)."""
    return (hasher or DEFAULT_HASHER).hash(password)


def verify_password(
    password: str, stored_hash: str | None, hasher: PasswordHasher | None = None
) -> bool:
    """True when the password matches; `stored_hash=None` (unknown user) still spends a hash."""
    ph = hasher or DEFAULT_HASHER
    if stored_hash is None:
        # Equalise timing so login answers do not reveal whether an account exists.
        with contextlib.suppress(VerificationError, InvalidHashError):
            ph.verify(_dummy_hash(ph), password)
        return False
    try:
        return ph.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, hasher: PasswordHasher | None = None) -> bool:
    """True when the stored hash uses other parameters than the hasher (rehash after login)."""
    try:
        return (hasher or DEFAULT_HASHER).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    key = (ph.time_cost, ph.memory_cost, ph.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = ph.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[key]

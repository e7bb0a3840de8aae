"""Staff usernames: ASCII folding, template rendering and race-safe collision suffixes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator

from bridge.errors import BridgeError, ConfigError, PayloadError

DEFAULT_TEMPLATE = "{first}.{last}"
# Mailcow validates local@domain with FILTER_VALIDATE_EMAIL: the local part is at most 64 octets.
MAX_LOCAL_PART = 64
# Room kept for the collision suffix (up to 4 digits) so a suffixed candidate still fits.
SUFFIX_RESERVE = 4
MAX_CANDIDATES = 10_000

USERNAME_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
_TEMPLATE_LITERAL_RE = re.compile(r"^[a-z0-9.-]*$")
_PART_DROP_RE = re.compile(r"[^a-z0-9-]+")

# Letters NFKD does not decompose into ASCII; without this "Strauß" would fold to "strau".
_TRANSLITERATION = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "ss",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ø": "o",
        "Ø": "o",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "Ð": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "Þ": "th",
        "ı": "i",
    }
)

# Template placeholder -> the API field it comes from (named in the 422 error).
_PLACEHOLDER_FIELDS = {"first": "first_name", "last": "last_name", "dept": "department"}


class EmptyNamePartError(PayloadError, ValueError):
    """A name part needed by the username template folds to nothing (the API answers 422)."""

    def __init__(self, field: str) -> None:
        super().__init__(
            f"{field} has no letters or digits usable in a username (after ASCII folding)",
            path=field,
        )
        self.field = field


class UsernameExhaustedError(BridgeError):
    """Every candidate suffix for a base username is taken."""


def fold_name_part(s: str) -> str:
    """Fold one name part to `[a-z0-9-]`: accents removed, lowercase, dots/spaces dropped."""
    text = unicodedata.normalize("NFKD", s.translate(_TRANSLITERATION))
    ascii_text = text.encode("ascii", "ignore").decode("ascii").lower()
    folded = _PART_DROP_RE.sub("", ascii_text)
    # Collapse and trim hyphens so "-" or "Jean--Luc" cannot produce odd local parts.
    folded = re.sub(r"-{2,}", "-", folded)
    return folded.strip("-")


def validate_template(template: str) -> None:
    """Raise ConfigError unless the template only uses known placeholders and safe literals."""
    names = _PLACEHOLDER_RE.findall(template)
    unknown = sorted({n for n in names if n not in _PLACEHOLDER_FIELDS})
    if unknown:
        raise ConfigError(
            f"PROVISIONING_USERNAME_TEMPLATE has unknown placeholder(s) {unknown}; "
            "use {first}, {last}, {dept}"
        )
    if not names:
        raise ConfigError("PROVISIONING_USERNAME_TEMPLATE must contain a placeholder")
    literal = _PLACEHOLDER_RE.sub("", template)
    if not _TEMPLATE_LITERAL_RE.match(literal):
        raise ConfigError(
            "PROVISIONING_USERNAME_TEMPLATE literals may only be lowercase letters, digits, '.' "
            "and '-'"
        )
    sample = _PLACEHOLDER_RE.sub("x", template)
    if not USERNAME_RE.match(sample):
        raise ConfigError(
            "PROVISIONING_USERNAME_TEMPLATE must not start/end with '.' or contain '..'"
        )


def render_username(template: str, first: str, last: str, dept: str) -> str:
    """Render the username template; raises EmptyNamePartError for a used part that is empty."""
    validate_template(template)
    raw = {"first": first, "last": last, "dept": dept}
    folded: dict[str, str] = {}
    for name in _PLACEHOLDER_RE.findall(template):
        if name in folded:
            continue
        value = fold_name_part(raw[name])
        if not value:
            raise EmptyNamePartError(_PLACEHOLDER_FIELDS[name])
        folded[name] = value
    username = _PLACEHOLDER_RE.sub(lambda m: folded[m.group(1)], template)
    return _truncate(username)


def _truncate(username: str) -> str:
    limit = MAX_LOCAL_PART - SUFFIX_RESERVE
    if len(username) <= limit:
        return username
    # Cutting may leave a trailing dot; the result must still match USERNAME_RE.
    return username[:limit].rstrip(".")


def candidates(base: str) -> Iterator[str]:
    """Yield `base`, `base1`, `base2`, … (up to MAX_CANDIDATES names)."""
    yield base
    for n in range(1, MAX_CANDIDATES):
        yield f"{base}{n}"


async def choose_username(
    base: str,
    is_taken: Callable[[str], Awaitable[bool]],
    reserve: Callable[[str], Awaitable[bool]],
) -> str:
    """Return the first free candidate, reserved atomically.

    `is_taken` looks outside our database (Mailcow mailboxes, aliases, spam aliases);
    `reserve` is an atomic insert-if-absent in our database (UNIQUE constraint) that answers
    False when another request got there first, so two concurrent calls never get one name.
    """
    for candidate in candidates(base):
        if await is_taken(candidate):
            continue
        if await reserve(candidate):
            return candidate
    raise UsernameExhaustedError(f"no free username for base {base!r}")

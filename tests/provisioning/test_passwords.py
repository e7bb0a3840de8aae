"""Password policy, generator and argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import ConfigError
from provisioning.passwords import (
    SPECIALS,
    MailcowPasswordPolicy,
    PasswordPolicy,
    cheap_hasher,
    generate_password,
    hash_password,
    load_common_passwords,
    needs_rehash,
    verify_password,
)

GOOD = "Tangerine-Orbit-42"


def test_common_list_is_bundled_lowercase_and_sizeable() -> None:
    common = load_common_passwords()
    assert len(common) >= 300
    assert "password" in common
    assert all(p == p.lower() for p in common)


def test_good_password_passes() -> None:
    assert PasswordPolicy().check(GOOD, "kay.ntulo", "kay@example.com") == []


def test_too_short() -> None:
    reasons = PasswordPolicy().check("Xk3!pq9z", "kay.ntulo", "kay@example.com")
    assert any("at least 12" in r for r in reasons)


def test_too_long() -> None:
    reasons = PasswordPolicy().check("Ab3!" * 40, "", "")
    assert any("at most 128" in r for r in reasons)


@pytest.mark.parametrize(
    "password",
    ["kay.ntulo-secret", "KAY.NTULO2024!!", "my-Ntulo-password", "xx-kay.personal-xx"],
)
def test_username_or_email_inside_password_is_refused(password: str) -> None:
    reasons = PasswordPolicy().check(password, "kay.ntulo", "kay.personal@gmail.com")
    assert any("username or email" in r for r in reasons)


def test_short_identifier_parts_do_not_block_everything() -> None:
    # "kay" (3 letters) as a name part must not refuse "okay…" passwords.
    assert PasswordPolicy().check("okay-Tangerine-71", "kay.ntulo", "") == []


@pytest.mark.parametrize(
    "password", ["qwertyuiop12", "Password2024!", "P@ssw0rd12345", "iloveyou!!!!1"]
)
def test_common_passwords_refused_case_insensitively(password: str) -> None:
    reasons = PasswordPolicy().check(password, "kay.ntulo", "kay@example.com")
    assert any("too common" in r for r in reasons)


def test_too_few_distinct_characters() -> None:
    reasons = PasswordPolicy().check("abababababababab", "", "")
    assert any("different characters" in r for r in reasons)


def test_reasons_never_echo_the_password() -> None:
    password = "kay.ntulo"
    for reason in PasswordPolicy().check(password, "kay.ntulo", ""):
        assert password not in reason


def test_mailcow_policy_parsed_from_strings_and_merged() -> None:
    mailcow = MailcowPasswordPolicy.model_validate(
        {"length": "16", "chars": "1", "special_chars": "1", "lowerupper": "1", "numbers": "0"}
    )
    policy = PasswordPolicy().merge_mailcow(mailcow)
    assert policy.min_length == 16
    assert policy.require_special
    assert policy.require_lowerupper
    assert policy.require_letter
    assert not policy.require_digit
    reasons = policy.check("tangerineorbitlake", "", "")
    assert not any("at least" in r for r in reasons)
    assert any("lower-case and upper-case" in r for r in reasons)
    assert any("not a letter or digit" in r for r in reasons)


def test_mailcow_minimum_lower_than_ours_keeps_ours() -> None:
    policy = PasswordPolicy().merge_mailcow(MailcowPasswordPolicy.model_validate({"length": "6"}))
    assert policy.min_length == 12


STRICT_MAILCOW = MailcowPasswordPolicy(
    length=30, chars=True, special_chars=True, lowerupper=True, numbers=True
)


@settings(max_examples=200)
@given(
    mailcow=st.builds(
        MailcowPasswordPolicy,
        length=st.integers(min_value=3, max_value=64),
        chars=st.booleans(),
        special_chars=st.booleans(),
        lowerupper=st.booleans(),
        numbers=st.booleans(),
    )
)
def test_generated_password_satisfies_any_mailcow_policy(mailcow: MailcowPasswordPolicy) -> None:
    policy = PasswordPolicy().merge_mailcow(mailcow)
    password = generate_password(policy)
    assert policy.check(password) == []
    # Our policy on its own and the full strict Mailcow rule set pass too.
    assert PasswordPolicy().check(password) == []
    assert len(password.encode()) >= mailcow.length
    assert any(c.islower() for c in password)
    assert any(c.isupper() for c in password)
    assert any(c.isdigit() for c in password)
    assert any(c in SPECIALS for c in password)


def test_generated_default_length_and_uniqueness() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) >= 24 for p in passwords)
    strict = PasswordPolicy().merge_mailcow(STRICT_MAILCOW)
    assert all(len(generate_password(strict)) >= 30 for _ in range(5))


def test_impossible_policy_is_a_config_error() -> None:
    policy = PasswordPolicy().merge_mailcow(MailcowPasswordPolicy(length=500))
    with pytest.raises(ConfigError):
        generate_password(policy)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return cheap_hasher()


def test_hash_and_verify(hasher: PasswordHasher) -> None:
    stored = hash_password(GOOD, hasher)
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    assert verify_password(GOOD, stored, hasher)
    assert not verify_password(GOOD + "x", stored, hasher)


def test_verify_unknown_user_and_garbage_hash(hasher: PasswordHasher) -> None:
    assert verify_password(GOOD, None, hasher) is False
    assert verify_password(GOOD, "not-a-hash", hasher) is False


def test_needs_rehash_when_parameters_change(hasher: PasswordHasher) -> None:
    stored = hash_password(GOOD, hasher)
    assert needs_rehash(stored, hasher) is False
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert needs_rehash(stored, stronger) is True
    assert needs_rehash("garbage", hasher) is True


def test_default_hasher_parameters_fit_a_small_box() -> None:
    from provisioning.passwords import DEFAULT_HASHER

    assert DEFAULT_HASHER.parallelism <= 2
    assert DEFAULT_HASHER.memory_cost >= 19 * 1024  # OWASP minimum for argon2id
    assert DEFAULT_HASHER.type.name == "ID"

"""Username folding, template rendering and race-safe reservation."""

from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import ConfigError, PayloadError
from provisioning.usernames import (
    MAX_LOCAL_PART,
    EmptyNamePartError,
    UsernameExhaustedError,
    candidates,
    choose_username,
    fold_name_part,
    render_username,
    validate_template,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Kay", "kay"),
        ("José", "jose"),
        ("Núñez", "nunez"),
        ("Mary Ann", "maryann"),
        ("St. John", "stjohn"),
        ("O'Brien", "obrien"),
        ("Jean-Luc", "jean-luc"),
        ("Strauß", "strauss"),
        ("Øyvind", "oyvind"),
        ("Łukasz", "lukasz"),
        ("  Zoë  ", "zoe"),
        ("-Anne--Marie-", "anne-marie"),
        ("李", ""),
        ("", ""),
    ],
)
def test_fold_name_part(raw: str, folded: str) -> None:
    assert fold_name_part(raw) == folded


def test_default_template() -> None:
    assert render_username("{first}.{last}", "Kay", "Ntulo", "DTV") == "kay.ntulo"


def test_brief_sample_template_uses_lowercased_department() -> None:
    assert render_username("{first}{last}.{dept}", "Kay", "Ntulo", "DTV") == "kayntulo.dtv"


def test_empty_part_names_the_field() -> None:
    with pytest.raises(EmptyNamePartError) as info:
        render_username("{first}.{last}", "Kay", "李", "DTV")
    assert info.value.field == "last_name"
    assert isinstance(info.value, PayloadError)
    assert isinstance(info.value, ValueError)
    assert "last_name" in str(info.value)


def test_unused_placeholder_may_be_empty() -> None:
    assert render_username("{first}.{last}", "Kay", "Ntulo", "") == "kay.ntulo"


def test_department_empty_when_used() -> None:
    with pytest.raises(EmptyNamePartError) as info:
        render_username("{first}.{dept}", "Kay", "Ntulo", "  ")
    assert info.value.field == "department"


@pytest.mark.parametrize(
    "template", ["{first}.{nick}", "{first}_{last}", "{first}..{last}", ".{first}", "plain"]
)
def test_bad_templates_are_config_errors(template: str) -> None:
    with pytest.raises(ConfigError):
        validate_template(template)


def test_long_names_leave_room_for_suffix() -> None:
    name = render_username("{first}.{last}", "A" * 40, "B" * 40, "")
    assert len(name) <= MAX_LOCAL_PART - 4
    assert len(f"{name}9999") <= MAX_LOCAL_PART
    assert USERNAME_PATTERN.match(name)


def test_truncation_never_ends_with_a_dot() -> None:
    name = render_username("{first}.{last}", "a" * 60, "b", "")
    assert not name.endswith(".")
    assert USERNAME_PATTERN.match(name)


name_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
TEMPLATE_FIELDS = {
    "{first}.{last}": ("first_name", "last_name"),
    "{first}{last}.{dept}": ("first_name", "last_name", "department"),
    "{last}-{first}": ("last_name", "first_name"),
}


@given(
    first=name_text,
    last=name_text,
    dept=name_text,
    template=st.sampled_from(sorted(TEMPLATE_FIELDS)),
)
def test_rendered_username_always_valid_or_empty_part_error(
    first: str, last: str, dept: str, template: str
) -> None:
    raw = {"first_name": first, "last_name": last, "department": dept}
    empty = [f for f in TEMPLATE_FIELDS[template] if not fold_name_part(raw[f])]
    if empty:
        with pytest.raises(EmptyNamePartError) as info:
            render_username(template, first, last, dept)
        assert info.value.field == empty[0]
    else:
        name = render_username(template, first, last, dept)
        assert USERNAME_PATTERN.match(name), name
        assert len(name) <= MAX_LOCAL_PART


@given(st.text(max_size=50))
def test_fold_output_alphabet(raw: str) -> None:
    assert re.fullmatch(r"[a-z0-9-]*", fold_name_part(raw))


def test_candidates_sequence() -> None:
    gen = candidates("kay.ntulo")
    assert [next(gen) for _ in range(4)] == ["kay.ntulo", "kay.ntulo1", "kay.ntulo2", "kay.ntulo3"]


async def test_choose_skips_taken_elsewhere_and_reserved() -> None:
    reserved = {"kay.ntulo"}
    mailcow = {"kay.ntulo1"}  # an alias in Mailcow

    async def is_taken(name: str) -> bool:
        return name in mailcow

    async def reserve(name: str) -> bool:
        if name in reserved:
            return False
        reserved.add(name)
        return True

    assert await choose_username("kay.ntulo", is_taken, reserve) == "kay.ntulo2"
    assert "kay.ntulo2" in reserved


async def test_twenty_concurrent_choices_are_distinct() -> None:
    reserved: set[str] = set()
    lock = asyncio.Lock()

    async def is_taken(name: str) -> bool:
        await asyncio.sleep(0)  # let other tasks interleave between check and reserve
        return False

    async def reserve(name: str) -> bool:
        async with lock:
            await asyncio.sleep(0)
            if name in reserved:
                return False
            reserved.add(name)
            return True

    names = await asyncio.gather(
        *(choose_username("kay.ntulo", is_taken, reserve) for _ in range(20))
    )
    assert len(set(names)) == 20
    assert set(names) == {"kay.ntulo", *(f"kay.ntulo{n}" for n in range(1, 20))}


async def test_exhausted_candidates_raise() -> None:
    async def is_taken(name: str) -> bool:
        return True

    async def reserve(name: str) -> bool:
        return True

    with pytest.raises(UsernameExhaustedError):
        await choose_username("kay.ntulo", is_taken, reserve)

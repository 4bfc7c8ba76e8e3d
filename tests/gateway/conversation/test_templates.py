"""Customer text is data, never a template."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.conversation.fill import placeholders, render


def test_values_are_inserted_once_and_never_rescanned() -> None:
    out = render("Your ref is {ref}. {unknown} {{literal}}", {"ref": "{ref} %s {0.__class__}"})
    assert out == "Your ref is {ref} %s {0.__class__}. {unknown} {literal}"


def test_placeholders() -> None:
    assert placeholders("a {ref} b {label} {{x}}") == {"ref", "label"}


@given(st.text())
def test_any_value_appears_verbatim(value: str) -> None:
    assert render("<{v}>", {"v": value}) == f"<{value}>"

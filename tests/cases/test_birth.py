"""A birth is kept as typed: its precision follows what was typed (issue 18, item 2)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from haven.cases.models import Person
from haven.cases.services import PersonInput, person_payload, request_create
from haven.vault.sealed import payload_read


@pytest.mark.parametrize(
    ("typed", "precision", "stored"),
    [
        ("1975", "unknown", {"value": "1975", "precision": "year"}),
        ("1975-03", "unknown", {"value": "1975-03", "precision": "month"}),
        ("1975-3", "", {"value": "1975-03", "precision": "month"}),
        ("1975-03-02", "unknown", {"value": "1975-03-02", "precision": "day"}),
        ("1975/3/2", "day", {"value": "1975-03-02", "precision": "day"}),
        ("1975", "year", {"value": "1975", "precision": "year"}),
        ("", "unknown", {"value": "", "precision": "unknown"}),
    ],
)
def test_birth_precision_is_what_was_typed(typed, precision, stored):
    person = PersonInput(name_hangul="김선희", birth_value=typed, birth_precision=precision)

    assert person_payload(person)["birth"] == stored


@pytest.mark.parametrize(
    ("typed", "precision"),
    [
        ("1975", "day"),  # a year with a day's precision
        ("1975-03-02", "year"),
        ("", "year"),  # a precision with nothing typed
        ("1975-13", "unknown"),
        ("1975-02-30", "unknown"),
        ("March 1975", "unknown"),
        ("1899", "unknown"),
    ],
)
def test_a_birth_that_contradicts_itself_is_refused(typed, precision):
    person = PersonInput(name_hangul="김선희", birth_value=typed, birth_precision=precision)

    with pytest.raises(ValidationError) as excinfo:
        person_payload(person)

    assert "people[0].birth_value" in excinfo.value.message_dict


def test_the_birth_error_is_in_korean_on_a_korean_page():
    person = PersonInput(name_hangul="김선희", birth_value="1975", birth_precision="day")

    with translation.override("ko"), pytest.raises(ValidationError) as excinfo:
        person_payload(person)

    message = excinfo.value.message_dict["people[0].birth_value"][0]
    assert "1975" in message and "precision" not in message and "정밀도" in message


@pytest.mark.django_db
def test_a_year_typed_without_a_precision_is_saved_with_the_request(ctx, alice):
    request = request_create(
        ctx=ctx,
        actor=alice,
        channel="direct_line",
        account="Help",
        people=[PersonInput(name_hangul="김선희", birth_value="1975")],
    )

    person = Person.objects.get(case__request=request)
    assert payload_read(ctx=ctx, record=person)["birth"] == {"value": "1975", "precision": "year"}

"""Countries typed as names in Korean, English or Chinese, or as ISO codes (issue 18, item 3)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from haven.cases.models import Case
from haven.countries import country_name
from haven.validation import clean_country
from tests.factories import login, make_case
from tests.web.helpers import transition_form


@pytest.mark.parametrize(
    "typed",
    ["TH", "th", "THA", "Thailand", "thailand", " Thai land ", "태국", "泰国", "泰國"],
)
def test_thailand_however_typed_is_th(typed):
    assert clean_country(typed) == "TH"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("북한", "KP"),
        ("North Korea", "KP"),
        ("朝鲜", "KP"),
        ("DPRK", "KP"),
        ("중국", "CN"),
        ("China", "CN"),
        ("라오스", "LA"),
        ("Viet Nam", "VN"),
        ("Mongolia", "MN"),
        ("", ""),
    ],
)
def test_country_names_and_codes(typed, code):
    assert clean_country(typed) == code


@pytest.mark.parametrize("typed", ["Shanxi", "XX", "ZZZ", "Atlantis", "T" * 101, "TH\x00"])
def test_what_is_no_country_is_refused(typed):
    with pytest.raises(ValidationError) as excinfo:
        clean_country(typed)
    assert "country" in excinfo.value.message_dict


def test_the_refusal_is_in_korean_on_a_korean_page():
    with translation.override("ko"), pytest.raises(ValidationError) as excinfo:
        clean_country("XX")
    message = excinfo.value.message_dict["country"][0]
    assert "ISO 3166" not in message and "국가" in message


def test_a_code_reads_as_a_name_in_the_page_language():
    assert country_name("TH", "en") == "Thailand"
    assert country_name("TH", "ko") == "태국"
    assert country_name("TH", "zh-hans") == "泰国"


@pytest.mark.django_db
def test_a_journey_step_to_thailand_typed_in_full_is_stored_as_th(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    response = client.post(
        reverse("web:case_move", args=[case.pk]),
        transition_form(case, country="Thailand"),
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.country == "TH"
    body = client.get(reverse("web:case", args=[case.pk])).content.decode()
    assert 'maxlength="2"' not in body and "Thailand" in body


@pytest.mark.django_db
def test_the_case_list_filtered_by_a_country_name_lists_only_that_country(client, alice, ctx):
    thailand = make_case(ctx=ctx, actor=alice)
    Case.objects.filter(pk=thailand.pk).update(country="TH")
    make_case(ctx=ctx, actor=alice)  # in China
    login(client, alice)

    for typed in ("Thailand", "태국", "TH"):
        response = client.get(reverse("web:cases"), {"country": typed})
        assert response.status_code == 200
        assert [row.case.pk for row in response.context["rows"]] == [thailand.pk], typed


@pytest.mark.django_db
def test_a_bad_country_filter_lists_nothing_and_says_why(client, alice, ctx):
    make_case(ctx=ctx, actor=alice)
    login(client, alice)

    response = client.get(reverse("web:cases"), {"country": "Shanxi"})

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "is not a country we know" in response.content.decode()

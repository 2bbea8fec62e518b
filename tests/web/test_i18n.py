"""Korean and English throughout: the language switch changes every page's strings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import login, make_case

pytestmark = pytest.mark.django_db


def _switch(client, language: str, next_url: str = "/") -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": next_url})
    assert response.status_code == 302


def test_switching_to_korean_translates_the_dashboard(client, alice, ctx):
    make_case(ctx=ctx, actor=alice)
    login(client, alice)
    assert "Cases by state" in client.get(reverse("web:dashboard")).content.decode()
    _switch(client, "ko")
    body = client.get(reverse("web:dashboard")).content.decode()
    assert 'lang="ko"' in body
    for korean in ("대시보드", "상태별 사례", "접수됨", "도착", "로그아웃", "요청 기록"):
        assert korean in body, korean
    assert "Cases by state" not in body


def test_korean_case_page_form_and_choices(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    _switch(client, "ko")
    body = client.get(reverse("web:case", args=[case.pk])).content.decode()
    for korean in (
        "여정",
        "다음 단계 기록",
        "확인 중",
        "출처",
        "신뢰도",
        "식당 종업원",
        "단계 기록",
    ):
        assert korean in body, korean


def test_korean_login_page_and_switch_back_to_english(client):
    _switch(client, "ko", "/login/")
    assert "로그인" in client.get(reverse("web:login")).content.decode()
    _switch(client, "en", "/login/")
    assert "Log in" in client.get(reverse("web:login")).content.decode()


def test_korean_error_messages_on_conflict(client, alice, ctx):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    _switch(client, "ko")
    response = client.post(
        reverse("web:case_move", args=[case.pk]),
        {"to_state": "verifying", "source": "staff", "confidence": "confirmed", "version": "9"},
    )
    assert response.status_code == 409
    assert "다른 사람이 변경하여 아무것도 저장되지 않았습니다" in response.content.decode()

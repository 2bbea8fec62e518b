"""Key custody pages: the case's holders, granting, revoking, deleting, team keys, passwords."""

from __future__ import annotations

import pytest
from django.db.models import Q
from django.urls import reverse

from haven.accounts.models import Role
from haven.accounts.services import user_password_reset
from haven.cases.models import Case
from haven.vault.models import Grant, KeyShare, TeamKey, UserKey
from tests.factories import PASSWORD, UserFactory, login, login_with_pages, make_case

pytestmark = pytest.mark.django_db


def test_the_case_page_lists_who_holds_access(client, ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)

    page = client.get(reverse("web:case", args=[case.pk])).content.decode()

    assert "Who holds access" in page
    assert "alice" in page and "Intake team" in page and "Supervisors" in page
    assert "Revoke" not in page  # bob is not a supervisor
    assert "Delete this case" not in page


def test_a_caseworker_grants_a_colleague_from_the_case_page(client, ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)

    response = client.post(reverse("web:case_grant", args=[case.pk]), {"user": carol.pk})

    assert response.status_code == 302
    assert Grant.objects.filter(data_key_id=case.data_key_id, user=carol, stale=False).exists()
    login(client, carol)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 200


@pytest.mark.parametrize("value", ["", "999999", "not-a-number", "1" * 5000])
def test_granting_to_nobody_or_to_a_stranger_changes_nothing(client, ctx, alice, bob, value):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    before = Grant.objects.count()
    login(client, bob)

    response = client.post(reverse("web:case_grant", args=[case.pk]), {"user": value})

    assert response.status_code == 302
    assert Grant.objects.count() == before


def test_an_administrator_cannot_be_granted_from_the_page(client, ctx, alice, bob, erin):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)

    client.post(reverse("web:case_grant", args=[case.pk]), {"user": erin.pk})

    assert not Grant.objects.filter(user=erin).exists()


def test_a_supervisor_revokes_with_rotation_from_the_page(client, ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    client.post(reverse("web:case_grant", args=[case.pk]), {"user": carol.pk})
    old_key = case.data_key_id
    login(client, alice)

    response = client.post(
        reverse("web:case_revoke", args=[case.pk]), {"holder": f"u:{carol.pk}", "rotate": "on"}
    )

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).data_key_id != old_key
    assert not Grant.objects.filter(user=carol).exists()
    login(client, carol)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 404


@pytest.mark.parametrize("holder", ["", "x:1", "u:", "u:abc", "t:not-a-uuid", "u:999999"])
def test_revoking_garbage_changes_nothing(client, ctx, alice, bob, holder):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    before = sorted(Grant.objects.values_list("pk", flat=True))
    login(client, alice)

    response = client.post(reverse("web:case_revoke", args=[case.pk]), {"holder": holder})

    assert response.status_code == 302
    assert sorted(Grant.objects.values_list("pk", flat=True)) == before


def test_a_caseworker_cannot_revoke_or_delete(client, ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)

    client.post(reverse("web:case_revoke", args=[case.pk]), {"holder": f"u:{alice.pk}"})
    assert client.get(reverse("web:case_delete", args=[case.pk])).status_code == 403
    assert Grant.objects.filter(user=alice, data_key_id=case.data_key_id).exists()


def test_deleting_needs_the_word_delete_and_then_destroys_the_case(client, ctx, alice):
    case = make_case(ctx=ctx, actor=alice)
    login(client, alice)
    url = reverse("web:case_delete", args=[case.pk])

    wrong = client.post(url, {"version": case.version, "confirm": "yes"})
    assert wrong.status_code == 400 and Case.objects.filter(pk=case.pk).exists()
    stale = client.post(url, {"version": case.version + 5, "confirm": "DELETE"})
    assert stale.status_code == 400 and Case.objects.filter(pk=case.pk).exists()

    done = client.post(url, {"version": case.version, "confirm": "DELETE"})
    assert done.status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not Grant.objects.filter(data_key_id=case.data_key_id).exists()


def test_a_supervisor_shares_a_team_key_with_a_new_colleague(client, alice, team_a):
    newcomer = UserFactory(username="ivan", role=Role.CASEWORKER, team=team_a)
    login(client, alice)

    page = client.get(reverse("web:keys")).content.decode()
    assert "ivan" in page and "Share the key" in page
    for key in TeamKey.objects.filter(Q(kind="staff") | Q(team=team_a), active=True):
        client.post(reverse("web:keys_share"), {"user": newcomer.pk, "team_key": key.pk})

    assert KeyShare.objects.filter(user=newcomer).count() == 2
    client.get(reverse("web:dashboard"))  # the success messages are shown there
    assert "ivan" not in client.get(reverse("web:keys")).content.decode()


def test_a_team_key_is_never_shared_with_someone_whose_role_does_not_call_for_it(
    client, alice, erin
):
    intake = TeamKey.objects.get(kind="intake", active=True)
    login(client, alice)

    client.post(reverse("web:keys_share"), {"user": erin.pk, "team_key": intake.pk})

    assert not KeyShare.objects.filter(user=erin).exists()


@pytest.mark.parametrize("name", ["bob", "dave", "erin", "grace"])
def test_only_supervisors_see_the_keys_page(client, request, name):
    login(client, request.getfixturevalue(name))
    assert client.get(reverse("web:keys")).status_code == 403
    assert client.post(reverse("web:keys_share"), {"user": 1}).status_code == 403


def test_changing_ones_password_keeps_all_access(client, ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    login(client, bob)
    new = "a different long passphrase 42"

    response = client.post(
        reverse("web:password_change"),
        {"old_password": PASSWORD, "new_password": new, "new_password_again": new},
    )

    assert response.status_code == 302
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 200  # still logged in
    client.post(reverse("web:logout"))
    login_with_pages(client, bob, new)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 200


@pytest.mark.parametrize(
    ("old", "new", "again", "error"),
    [
        ("wrong", "a different long passphrase 42", "a different long passphrase 42", "not right"),
        (PASSWORD, "a different long passphrase 42", "another one entirely", "differ"),
        (PASSWORD, "short", "short", "too short"),
        (PASSWORD, "x" * 5000, "x" * 5000, "at most"),
    ],
)
def test_a_bad_password_change_says_why_and_changes_nothing(client, bob, old, new, again, error):
    login(client, bob)
    wrapped = bytes(UserKey.objects.get(user=bob).wrapped_private)

    response = client.post(
        reverse("web:password_change"),
        {"old_password": old, "new_password": new, "new_password_again": again},
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    assert bytes(UserKey.objects.get(user=bob).wrapped_private) == wrapped
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_after_an_administrator_reset_the_person_has_lost_access_until_restored(
    client, ctx, alice, bob, erin
):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    new = "a fresh long passphrase 9"

    lost = user_password_reset(actor=erin, user=bob, new_password=new)

    assert lost >= 2  # the case and its request
    login_with_pages(client, bob, new)
    # The administrator chose that password: bob must choose his own before anything else.
    forced = client.get(reverse("web:case", args=[case.pk]))
    assert forced["Location"] == reverse("web:password_change")
    mine = "bob's own long passphrase 12"
    client.post(
        reverse("web:password_change"),
        {"old_password": new, "new_password": mine, "new_password_again": mine},
    )
    new = mine
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 404
    login(client, alice)
    page = client.get(reverse("web:keys")).content.decode()
    assert "bob" in page and "Access lost after a password reset" in page
    client.post(reverse("web:keys_restore"), {"user": bob.pk})
    for key in TeamKey.objects.filter(active=True, kind__in=["staff", "team"]):
        client.post(reverse("web:keys_share"), {"user": bob.pk, "team_key": key.pk})
    client.post(reverse("web:logout"))
    login_with_pages(client, bob, new)
    assert client.get(reverse("web:case", args=[case.pk])).status_code == 200


def test_a_supervisor_replaces_a_key_someone_left_from_the_keys_page(
    client, alice, bob, erin, team_a, team_b
):
    from haven.accounts.services import user_update

    user_update(actor=erin, user=bob, team=team_b)
    old = TeamKey.objects.get(team=team_a, active=True)
    login(client, alice)

    assert "Keys to replace" in client.get(reverse("web:keys")).content.decode()
    client.post(reverse("web:keys_rotate"), {"team_key": old.pk})

    assert not TeamKey.objects.get(pk=old.pk).active
    assert TeamKey.objects.get(team=team_a, active=True).pk != old.pk
    for bad in ({"team_key": "nonsense"}, {"team_key": old.pk}, {}):
        assert client.post(reverse("web:keys_rotate"), bad).status_code in (302, 404)
    assert TeamKey.objects.filter(team=team_a, active=True).count() == 1


def test_logging_in_sets_an_httponly_strict_key_cookie_and_keeps_only_an_encrypted_key(
    client, alice
):
    from django.contrib.sessions.models import Session

    from haven.vault.context import COOKIE_NAME, SESSION_KEY

    response = client.post(reverse("web:login"), {"username": "alice", "password": PASSWORD})

    cookie = response.cookies[COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    stored = Session.objects.get().get_decoded()[SESSION_KEY]
    assert (
        cookie.value not in stored
        and cookie.value.encode() not in Session.objects.get().session_data.encode()
    )


def test_logging_out_destroys_both_halves_of_the_session_key(client, alice):
    from django.contrib.sessions.models import Session

    from haven.vault.context import COOKIE_NAME

    login_with_pages(client, alice)
    response = client.post(reverse("web:logout"))

    assert response.cookies[COOKIE_NAME].value == ""  # deleted in the browser
    assert not any("haven_key_blob" in s.get_decoded() for s in Session.objects.all())


def test_a_session_whose_key_cookie_is_gone_is_sent_to_log_in_again(client, ctx, alice):
    from haven.vault.context import COOKIE_NAME

    case = make_case(ctx=ctx, actor=alice)
    login_with_pages(client, alice)
    del client.cookies[COOKIE_NAME]

    response = client.get(reverse("web:case", args=[case.pk]))

    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert client.get(reverse("web:cases")).status_code == 302  # logged out, not half in


def test_a_forged_key_cookie_is_refused_without_an_error_page(client, ctx, alice):
    from haven.vault.context import COOKIE_NAME

    case = make_case(ctx=ctx, actor=alice)
    login_with_pages(client, alice)
    for forged in ("A" * 43, "not base64!!", "x" * 5000, ""):
        client.cookies[COOKIE_NAME] = forged
        response = client.get(reverse("web:case", args=[case.pk]))
        assert response.status_code == 302
        login_with_pages(client, alice)


def test_the_case_list_finds_a_person_by_any_spelling_of_their_name(client, ctx, alice, bob):
    from haven.cases.services import request_create
    from tests.factories import PersonInputFactory

    person = PersonInputFactory.build(name_hangul="김선희", name_romanized="Kim Sun-hui")
    request = request_create(
        ctx=ctx, actor=alice, channel="direct_line", account="help", people=[person], owner=bob
    )
    mine = request.cases.get()
    login(client, bob)

    for query in ("Gim Seon-hui", "김선희", "kim sunhui"):
        page = client.get(reverse("web:cases"), {"q": query})
        assert page.status_code == 200
        assert [r.case.pk for r in page.context["rows"]] == [mine.pk], query
    nobody = client.get(reverse("web:cases"), {"q": "Park Jong-su"})
    assert nobody.context["rows"] == []
    hostile = client.get(reverse("web:cases"), {"q": "x" * 5000})
    assert hostile.status_code == 200 and hostile.context["rows"] == []
    assert "at most" in hostile.content.decode()

"""`haven keys rotate-user`: a new key pair for someone whose key was exposed, resumable, and
nobody loses access half-way."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from haven.crypto import CryptoError, MissingKeyError, PersonalKey
from haven.vault.models import Grant, KeyShare, UserKey
from haven.vault.sealed import payload_read
from haven.vault.services import (
    user_key_rotation_finish,
    user_key_rotation_start,
    user_key_rotation_step,
)
from tests.factories import PASSWORD, ctx_for, login_with_pages, make_case

pytestmark = pytest.mark.django_db


def _old_key(user) -> PersonalKey:
    return PersonalKey.unwrap_with_password(
        bytes(UserKey.objects.get(user=user).wrapped_private), PASSWORD
    )


def test_after_rotation_the_old_key_opens_nothing_stored_and_the_new_one_everything(
    tmp_path, capsys, ctx, alice, bob
):
    cases = [make_case(ctx=ctx, actor=alice, owner=bob) for _ in range(3)]
    exposed = _old_key(bob)
    (tmp_path / "pw").write_text(PASSWORD)

    call_command(
        "keys", "rotate-user", "bob", "--password-file", str(tmp_path / "pw"), "--batch", "2"
    )

    assert "bob has a new key pair; 6 grants" in capsys.readouterr().out
    fresh = ctx_for(bob)
    for case in cases:
        assert payload_read(ctx=fresh, record=case)["own_words"] == ""
    for grant in Grant.objects.filter(user=bob):
        with pytest.raises(CryptoError):
            exposed.open_sealed(bytes(grant.sealed))
    for share in KeyShare.objects.filter(user=bob):
        with pytest.raises(CryptoError):
            exposed.open_sealed(bytes(share.sealed))
    assert not Grant.objects.filter(sealed_next__isnull=False).exists()


def test_an_interrupted_rotation_leaves_everything_readable_and_resumes(ctx, alice, bob):
    cases = [make_case(ctx=ctx, actor=alice, owner=bob) for _ in range(3)]
    user_key_rotation_start(actor=None, user=bob, password=PASSWORD)
    progress = user_key_rotation_step(user=bob, password=PASSWORD, batch=2)
    assert progress.done == 2 and progress.total == 6

    # Half-way: bob logs in with the old key and opens everything; a new case arrives.
    half = ctx_for(bob)
    for case in cases:
        payload_read(ctx=half, record=case)
    late = make_case(ctx=ctx, actor=alice, owner=bob)

    assert user_key_rotation_start(actor=None, user=bob, password=PASSWORD) is False  # resumes
    while user_key_rotation_step(user=bob, password=PASSWORD, batch=2).done < 8:
        pass
    assert user_key_rotation_finish(actor=None, user=bob, password=PASSWORD) == 8
    after = ctx_for(bob)
    for case in [*cases, late]:
        payload_read(ctx=after, record=case)


def test_a_password_change_during_rotation_keeps_it_going(ctx, alice, bob):
    from haven.accounts.services import user_password_change

    case = make_case(ctx=ctx, actor=alice, owner=bob)
    user_key_rotation_start(actor=None, user=bob, password=PASSWORD)
    new = "another long passphrase 77"
    user_password_change(user=bob, old_password=PASSWORD, new_password=new)

    user_key_rotation_step(user=bob, password=new)
    user_key_rotation_finish(actor=None, user=bob, password=new)

    assert payload_read(ctx=ctx_for(bob, new), record=case)


def test_rotation_ends_the_persons_sessions_and_tokens(client, ctx, alice, bob):
    from django.contrib.sessions.models import Session

    from haven.api.models import ApiToken
    from haven.api.services import api_token_create

    login_with_pages(client, bob)
    api_token_create(user=bob, password=PASSWORD)
    user_key_rotation_start(actor=None, user=bob, password=PASSWORD)
    user_key_rotation_finish(actor=None, user=bob, password=PASSWORD)

    assert not ApiToken.objects.filter(user=bob).exists()
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(bob.pk) for s in Session.objects.all()
    )


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["rotate-user", "nobody"], PASSWORD, "No staff member named 'nobody'"),
        (["rotate-user", "bob"], "wrong password", "does not unlock the key"),
        (["rotate-user", "bob", "--batch", "0"], PASSWORD, "--batch must be between"),
    ],
)
def test_bad_rotations_are_refused_and_change_nothing(
    tmp_path, ctx, alice, bob, args, password, message
):
    make_case(ctx=ctx, actor=alice, owner=bob)
    (tmp_path / "pw").write_text(password)
    before = bytes(UserKey.objects.get(user=bob).public_key)

    with pytest.raises(CommandError, match=message):
        call_command("keys", *args, "--password-file", str(tmp_path / "pw"))
    key = UserKey.objects.get(user=bob)
    assert bytes(key.public_key) == before and key.next_public_key is None


def test_a_reset_abandons_a_rotation_under_way(ctx, alice, bob):
    from haven.accounts.services import user_password_reset

    make_case(ctx=ctx, actor=alice, owner=bob)
    user_key_rotation_start(actor=None, user=bob, password=PASSWORD)
    user_key_rotation_step(user=bob, password=PASSWORD)

    user_password_reset(actor=None, user=bob, new_password="reset long passphrase 3")

    key = UserKey.objects.get(user=bob)
    assert key.next_public_key is None
    assert not Grant.objects.filter(user=bob, sealed_next__isnull=False).exists()
    assert Grant.objects.filter(user=bob, stale=True).count() == 2
    other = make_case(ctx=ctx, actor=alice)
    with pytest.raises(MissingKeyError):
        payload_read(ctx=ctx_for(bob, "reset long passphrase 3"), record=other)

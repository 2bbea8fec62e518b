"""`haven resetpassword` and `haven recover`: words from a file or a hidden prompt, never argv."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from haven.accounts.services import user_password_reset
from haven.crypto import recovery_key_create
from haven.vault.models import Grant, KeyShare
from haven.vault.sealed import payload_read
from tests.factories import ctx_for, make_case

pytestmark = pytest.mark.django_db
NEW = "a brand new long passphrase 5"


@pytest.fixture
def words_file(tmp_path, org):
    path = tmp_path / "words.txt"
    path.write_text("\n".join(org.recovery_words) + "\n", encoding="utf-8")
    return path


def test_resetpassword_says_plainly_what_was_lost(tmp_path, capsys, ctx, alice, bob):
    make_case(ctx=ctx, actor=alice, owner=bob)
    (tmp_path / "pw").write_text(NEW)

    call_command("resetpassword", "bob", "--password-file", str(tmp_path / "pw"))

    out = capsys.readouterr().out
    assert "access to 2 records is lost" in out and "haven recover restore-access bob" in out
    bob.refresh_from_db()
    assert bob.check_password(NEW)


def test_recovery_words_restore_everything_a_reset_person_lost(words_file, capsys, ctx, alice, bob):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    user_password_reset(actor=None, user=bob, new_password=NEW)
    assert not KeyShare.objects.filter(user=bob).exists()

    call_command("recover", "restore-access", "bob", "--words-file", str(words_file))

    assert "Restored 2 records and 2 team keys to bob" in capsys.readouterr().out
    assert not Grant.objects.filter(user=bob, stale=True).exists()
    assert payload_read(ctx=ctx_for(bob, NEW), record=case)["own_words"] == ""


def test_show_case_opens_a_case_with_the_words_alone(words_file, capsys, ctx, alice):
    case = make_case(ctx=ctx, actor=alice)

    call_command("recover", "show-case", str(case.pk), "--words-file", str(words_file))

    shown = json.loads(capsys.readouterr().out)
    assert shown["case"] == str(case.pk) and shown["person"]["name_hangul"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "Expected 24 words, got 0"),
        ("abandon " * 24, "do not add up"),
        ("zzzz " * 24, "Not recovery words at position 1"),
        ("x" * 10_000, "too large"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_bad_words_are_refused_and_nothing_changes(tmp_path, ctx, alice, bob, content, message):
    make_case(ctx=ctx, actor=alice, owner=bob)
    user_password_reset(actor=None, user=bob, new_password=NEW)
    path = tmp_path / "words"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    stale = Grant.objects.filter(user=bob, stale=True).count()

    with pytest.raises(CommandError, match=message):
        call_command("recover", "restore-access", "bob", "--words-file", str(path))
    assert Grant.objects.filter(user=bob, stale=True).count() == stale


def test_another_organisations_words_are_refused(tmp_path, ctx, alice, bob):
    _, words = recovery_key_create()
    path = tmp_path / "words"
    path.write_text(" ".join(words))

    with pytest.raises(CommandError, match="not this organisation's recovery words"):
        call_command("recover", "restore-access", "bob", "--words-file", str(path))


def test_unknown_targets_and_missing_files_are_clear_errors(tmp_path, words_file, alice):
    with pytest.raises(CommandError, match="No staff member named 'nobody'"):
        call_command("recover", "restore-access", "nobody", "--words-file", str(words_file))
    with pytest.raises(CommandError, match="No case with id"):
        call_command("recover", "show-case", "../../etc/passwd", "--words-file", str(words_file))
    with pytest.raises(CommandError, match="Cannot read the words file"):
        call_command("recover", "restore-access", "alice", "--words-file", str(tmp_path / "no"))


def test_a_reset_keeps_the_authenticator_unless_asked(tmp_path, bob):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.factories import totp_code

    totp_code(bob)
    (tmp_path / "pw").write_text(NEW)
    call_command("resetpassword", "bob", "--password-file", str(tmp_path / "pw"))
    assert TOTPDevice.objects.filter(user=bob).exists()

    call_command(
        "resetpassword", "bob", "--password-file", str(tmp_path / "pw"), "--reset-two-factor"
    )
    assert not TOTPDevice.objects.filter(user=bob).exists()

"""The signed head and kept anchors: a chain rewritten in the database fails plain `verify`.

Each test plays someone who can write to the database but does not hold HAVEN_SECRET_KEY: they
know the hash function (tests.audit.conftest.rehash) and can copy rows, but cannot sign.
"""

from __future__ import annotations

import logging
import os
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from haven import crypto
from haven.audit.anchors import parse_anchor_line
from haven.audit.models import AuditEntry, AuditHead
from haven.audit.selectors import (
    ANCHOR,
    SIGNATURE,
    TRUNCATED,
    audit_anchor,
    audit_anchor_check,
    audit_verify,
)
from haven.audit.services import (
    AuditRefusedError,
    audit_anchor_keep,
    audit_head_sign,
    audit_record,
)
from haven.audit.signing import head_message, head_sign, signature_valid
from tests.audit.conftest import head, make_chain, rehash

pytestmark = pytest.mark.django_db


def verify_command(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", "verify", "--quiet", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def rewrite_from(seq: int, **changes) -> None:
    """Edit entry ``seq``, re-hash it and every entry after it, and move the head onto the end."""
    rehash(seq, **changes)
    last = AuditEntry.objects.order_by("-seq").first()
    for later in range(seq + 1, last.seq + 1):
        rehash(later, prev_hash=AuditEntry.objects.get(seq=later - 1).entry_hash)
    end = AuditEntry.objects.order_by("-seq").first()
    AuditHead.objects.update(seq=end.seq, entry_hash=end.entry_hash, at=end.at)


def truncate_to(seq: int) -> None:
    """Delete every entry after ``seq`` and move the head back onto ``seq``."""
    AuditEntry.objects.filter(seq__gt=seq).delete()
    end = AuditEntry.objects.get(seq=seq)
    AuditHead.objects.update(seq=end.seq, entry_hash=end.entry_hash, at=end.at)


@pytest.fixture
def anchor_file(settings, tmp_path):
    path = tmp_path / "outside" / "audit-anchors"
    path.parent.mkdir()
    settings.HAVEN_AUDIT_ANCHOR_FILE = str(path)
    return path


# -- every tampering is caught by plain verify ------------------------------------------------


def test_an_intact_chain_has_a_head_signed_by_this_server(chain):
    result = audit_verify()

    assert result.ok and result.head_signer == "current"
    assert crypto.audit_signature_signer(head_message(6, head().entry_hash), head().signature)


def test_an_entry_edited_and_everything_after_it_rehashed_is_caught(chain):
    rewrite_from(2, action="case.list")

    code, out, _ = verify_command()

    assert code == 1
    assert "head: the signature of seq 6 is not this server's" in out
    assert audit_verify().kinds() == [(SIGNATURE, 6)]


def test_the_chain_truncated_and_its_head_moved_back_is_caught(chain):
    truncate_to(4)

    code, out, _ = verify_command()

    assert code == 1 and "head: the signature of seq 4 is not this server's" in out


def test_the_last_entries_deleted_is_caught(chain):
    AuditEntry.objects.filter(seq__gt=4).delete()

    code, out, _ = verify_command()

    assert code == 1 and "seq 5..6: deleted from the end" in out
    assert [kind for kind, _ in audit_verify().kinds()] == [TRUNCATED]


def test_a_head_re_signed_with_another_key_is_caught(chain):
    rewrite_from(3, detail={"i": 0})
    with override_settings(SECRET_KEY="another server's key " * 3):
        forged = crypto.audit_sign(head_message(6, head().entry_hash))
    AuditHead.objects.update(signature=forged)

    code, out, _ = verify_command()

    assert crypto.audit_signature_valid(head_message(6, head().entry_hash), forged)
    assert code == 1 and "re-signed with another key or forged" in out


def test_a_signature_copied_from_another_head_is_caught(chain):
    genuine = head().signature
    rewrite_from(5, action="case.list")
    AuditHead.objects.update(signature=genuine)

    assert audit_verify().kinds() == [(SIGNATURE, 6)]


def test_the_next_entry_does_not_sign_over_a_rewritten_chain(chain, alice, caplog):
    rewrite_from(2, action="case.list")

    with caplog.at_level(logging.ERROR, logger="haven.audit"):
        entry = audit_record(actor=alice, action="case.view")

    assert entry.seq == 7 and head().signature == ""
    assert "does not carry this server's signature" in caplog.text
    result = audit_verify()
    assert result.kinds() == [(SIGNATURE, 7)] and "is not signed" in str(result.problems[0])
    audit_record(actor=alice, action="case.view")
    assert head().signature == ""  # unsigned until someone looks


def test_a_head_rebuilt_after_it_was_lost_is_not_signed(chain, alice):
    AuditHead.objects.all().delete()

    audit_record(actor=alice, action="case.view")

    assert head().seq == 7 and head().signature == ""
    assert audit_verify().kinds() == [(SIGNATURE, 7)]


def test_a_fresh_chain_is_signed_from_its_first_entry(alice):
    entry = audit_record(actor=alice, action="case.view")

    assert entry.seq == 1 and audit_verify().ok and head().signature


# -- rollback: only an anchor kept outside the database shows it ------------------------------


def test_a_rollback_to_an_earlier_signed_head_is_caught_by_a_kept_anchor(chain, alice, anchor_file):
    # The forger copied the head row at seq 6, signature and all, from a backup or a replica.
    saved = AuditHead.objects.values("seq", "entry_hash", "at", "signature").get()
    make_chain(alice, 3)
    audit_anchor_keep()  # seq 9, kept in the file
    AuditEntry.objects.filter(seq__gt=6).delete()
    AuditHead.objects.update(**saved)

    code, out, _ = verify_command()

    assert code == 1
    assert (
        "seq 9: anchored in line 1 of the anchor file (kept " in out
        and "but the chain now ends at seq 6: entries were removed from the end" in out
    )
    assert audit_verify().kinds() == [(ANCHOR, 9)]


def test_without_an_anchor_file_verify_says_a_rollback_would_not_show(chain, alice):
    saved = AuditHead.objects.values("seq", "entry_hash", "at", "signature").get()
    make_chain(alice, 3)
    AuditEntry.objects.filter(seq__gt=6).delete()
    AuditHead.objects.update(**saved)

    code, _out, err = verify_command()

    assert code == 0  # the limit the note names
    assert "no anchor file is configured (HAVEN_AUDIT_ANCHOR_FILE)" in err


def test_a_rewrite_before_a_kept_anchor_is_caught_even_if_re_signed_by_the_server(
    chain, anchor_file
):
    # Someone holding HAVEN_SECRET_KEY too (the server itself) can sign; the anchor still holds.
    audit_anchor_keep()
    rewrite_from(2, action="case.list")
    AuditHead.objects.update(signature=head_sign(6, head().entry_hash))

    assert audit_verify().kinds() == [(ANCHOR, 6)]


def test_an_anchor_given_on_the_command_line_is_checked_too(chain):
    printed = audit_anchor().text
    rewrite_from(2, action="case.list")
    AuditHead.objects.update(signature=head_sign(6, head().entry_hash))

    code, out, _ = verify_command("--anchor", printed)

    assert code == 1 and "seq 6: not the entry anchored in the anchor" in out


# -- the anchor file ----------------------------------------------------------------------------


def test_anchor_appends_a_signed_line_to_a_0600_file(chain, alice, anchor_file):
    code_out = StringIO()
    call_command("audit", "anchor", stdout=code_out, stderr=StringIO())
    make_chain(alice, 1)
    call_command("audit", "anchor", stdout=StringIO(), stderr=StringIO())

    lines = anchor_file.read_text().splitlines()
    assert stat.S_IMODE(anchor_file.stat().st_mode) == 0o600
    assert [parse_anchor_line(line).seq for line in lines] == [6, 7]
    first = parse_anchor_line(lines[0])
    assert lines[0].startswith(code_out.getvalue().strip() + " kept ")
    assert signature_valid(6, first.entry_hash, first.signature)
    assert audit_anchor_check(lines[0]).ok
    result = audit_verify()
    assert result.ok and result.anchors_checked == 2


def test_anchor_refuses_a_file_inside_the_data_directory(chain, settings):
    settings.HAVEN_AUDIT_ANCHOR_FILE = str(settings.DATA_DIR / "anchors")

    with pytest.raises(AuditRefusedError, match="beside the database"):
        audit_anchor_keep()
    assert not (settings.DATA_DIR / "anchors").exists()


def test_anchor_refuses_a_file_others_can_write(chain, anchor_file):
    anchor_file.write_text("")
    os.chmod(anchor_file, 0o622)  # noqa: S103 - the mistake under test

    with pytest.raises(AuditRefusedError, match="chmod 600"):
        audit_anchor_keep()
    assert anchor_file.read_text() == ""


def test_anchor_refuses_an_unsigned_head(chain, anchor_file):
    rewrite_from(2, action="case.list")

    code = 0
    err = StringIO()
    try:
        call_command("audit", "anchor", stdout=StringIO(), stderr=err)
    except SystemExit as exc:
        code = int(exc.code or 0)

    assert code == 1 and "does not carry this server's signature" in err.getvalue()
    assert not anchor_file.exists()


def test_anchor_refuses_a_chain_rolled_back_since_the_last_anchor(chain, alice, anchor_file):
    saved = AuditHead.objects.values("seq", "entry_hash", "at", "signature").get()
    make_chain(alice, 2)
    audit_anchor_keep()
    AuditEntry.objects.filter(seq__gt=6).delete()
    AuditHead.objects.update(**saved)

    with pytest.raises(AuditRefusedError, match="last kept anchor"):
        audit_anchor_keep()
    assert len(anchor_file.read_text().splitlines()) == 1


def test_an_altered_or_garbled_anchor_line_is_a_problem(chain, anchor_file):
    audit_anchor_keep()
    line = anchor_file.read_text()
    seq, rest = line.split(":", 1)
    anchor_file.write_text(f"5:{rest}not an anchor\n")  # re-pointed to seq 5, and junk

    kinds = audit_verify().kinds()

    assert (ANCHOR, 5) in kinds and (ANCHOR, 0) in kinds


def test_an_unreadable_anchor_file_is_a_problem(chain, anchor_file):
    anchor_file.mkdir()

    result = audit_verify()

    assert result.kinds() == [(ANCHOR, 0)] and "cannot be read" in str(result.problems[0])


# -- signing the head again ---------------------------------------------------------------------


def test_sign_head_needs_an_anchor_or_an_explicit_word(chain, alice):
    AuditHead.objects.all().delete()
    audit_record(actor=alice, action="case.view")  # rebuilt, unsigned

    with pytest.raises(AuditRefusedError, match="no anchor to compare"):
        audit_head_sign()
    entry = audit_head_sign(without_anchor=True)

    assert entry.action == "audit.head_signed" and entry.detail["was"] == "unsigned"
    assert audit_verify().ok


def test_sign_head_checks_the_chain_against_the_anchors_first(chain, anchor_file):
    audit_anchor_keep()
    rewrite_from(2, action="case.list")

    with pytest.raises(AuditRefusedError, match="problem"):
        audit_head_sign()
    assert audit_verify().kinds() == [(ANCHOR, 6), (SIGNATURE, 6)]


def test_sign_head_command_signs_after_a_change_of_key(chain, settings):
    printed = audit_anchor().text
    settings.SECRET_KEY = "a new server key, long enough for the check " * 2

    assert audit_verify().kinds() == [(SIGNATURE, 6)]
    out = StringIO()
    call_command("audit", "sign-head", "--anchor", printed, stdout=out, stderr=StringIO())

    assert "Head signed: seq 6" in out.getvalue()
    assert audit_verify(anchors=[printed]).ok


def test_a_head_signed_with_a_fallback_key_is_accepted_and_replaced(chain, alice, settings):
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a new server key, long enough for the check " * 2
    settings.SECRET_KEY_FALLBACKS = [old]

    result = audit_verify()
    assert result.ok and result.head_signer == "previous"

    audit_record(actor=alice, action="case.view")
    settings.SECRET_KEY_FALLBACKS = []
    assert audit_verify().head_signer == "current"


def test_the_migration_signs_an_existing_head(chain):
    import importlib

    from django.apps import apps
    from django.db import connection

    AuditHead.objects.update(signature="")
    migration = importlib.import_module("haven.audit.migrations.0003_head_signature")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection  # type: ignore[attr-defined]
    migration.sign_existing_head(apps, editor)

    assert audit_verify().ok


def test_head_is_signed_over_seq_and_hash_only():
    assert head_message(6, "ab" * 32) == b"haven-audit-head/v1 6:" + b"ab" * 32


def test_audit_keys_are_derived_from_the_secret_key_and_differ_between_servers(settings):
    mine = crypto.audit_public_key()
    settings.SECRET_KEY = "x" * 60
    assert crypto.audit_public_key() != mine and len(mine) == 43
    assert crypto.audit_signature_signer(b"m", crypto.audit_sign(b"m")) == "current"
    assert crypto.audit_signature_signer(b"m", "not a signature") is None
    assert not crypto.audit_signature_valid(b"m", "a" * 43 + "." + "b" * 86)


def test_the_empty_chain_can_be_anchored_and_its_line_read_back(anchor_file):
    AuditHead.objects.all().delete()
    AuditEntry.objects.all().delete()

    anchor, line = audit_anchor_keep()

    assert anchor.seq == 0 and line is not None
    parsed = parse_anchor_line(line)
    assert (parsed.seq, parsed.signature) == (0, "") and parsed.kept_at is not None
    assert audit_verify().ok

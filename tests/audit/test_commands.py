"""`haven audit verify` and `haven audit anchor`: exit codes and what they say."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from haven.audit.models import AuditEntry
from haven.cli import main
from tests.audit.conftest import make_chain, swap


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_verify_an_intact_chain_exits_0(chain):
    code, out, _ = run("verify")

    assert code == 0
    assert out.startswith("Audit trail intact: 6 entries, seq 1..6")


@pytest.mark.django_db
def test_verify_lists_every_problem_with_its_seq_and_exits_1(chain):
    AuditEntry.objects.filter(seq=2).update(detail={"i": 0})
    AuditEntry.objects.filter(seq=4).delete()

    code, out, _ = run("verify", "--quiet")

    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "Audit trail BROKEN: 2 problems in 5 entries (head at seq 6):"
    assert lines[1] == "  seq 2: edited: its content no longer matches its hash"
    assert lines[2] == "  seq 4: deleted: the chain jumps from seq 3 to seq 5"


@pytest.mark.django_db
def test_verify_counts_what_it_does_not_list(alice):
    make_chain(alice, 12)
    AuditEntry.objects.filter(seq__gt=2).update(action="forged")

    code, out, _ = run("verify", "--max-problems", "3")

    assert code == 1
    assert "10 problems in 12 entries" in out
    assert out.count("edited") == 3 and "... and 7 more not listed" in out


@pytest.mark.django_db
def test_verify_names_reordered_entries(chain):
    swap(2, 3)
    code, out, _ = run("verify")
    assert code == 1
    assert "seq 2: reordered: this entry was written as seq 3" in out
    assert "seq 3: reordered: this entry was written as seq 2" in out


@pytest.mark.django_db
def test_anchor_prints_the_head_and_verifies_it_later(chain, alice):
    code, out, err = run("anchor")
    line = out.strip()
    seq, rest = line.split(":", 1)

    assert code == 0
    assert seq == "6" and rest.startswith(chain[-1].entry_hash)
    assert line.split()[1].endswith("Z") and len(line.split()[2]) == 130  # time, signature
    assert f'--verify-against "6:{chain[-1].entry_hash}"' in err

    make_chain(alice, 2)
    code, out, _ = run("anchor", "--verify-against", line)  # the whole printed line is accepted
    assert code == 0 and out.startswith("Anchor OK: seq 6")

    AuditEntry.objects.filter(seq=6).delete()
    code, out, _ = run("anchor", "--verify-against", f"6:{chain[-1].entry_hash}")
    assert code == 1 and out.startswith("Anchor NOT in the chain: seq 6: no such entry")


@pytest.mark.django_db
def test_a_malformed_anchor_is_a_usage_error(chain):
    with pytest.raises(CommandError, match="an anchor looks like") as info:
        call_command("audit", "anchor", "--verify-against", "6:nothex", stdout=StringIO())
    assert info.value.returncode == 2


# `haven ...` closes the database connection when the command ends (Django's run_from_argv), so
# each of these tests calls it once, last.


@pytest.mark.django_db
def test_haven_audit_verify_exits_0_on_an_intact_chain(chain, capsys):
    assert main(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out


@pytest.mark.django_db
def test_haven_audit_verify_exits_1_on_a_broken_chain(chain, capsys):
    AuditEntry.objects.filter(seq=3).update(action="forged")
    assert main(["audit", "verify"]) == 1
    assert "seq 3: edited" in capsys.readouterr().out


@pytest.mark.django_db
def test_haven_audit_anchor_prints_the_head(chain, capsys):
    assert main(["audit", "anchor"]) == 0
    assert capsys.readouterr().out.startswith(f"6:{chain[-1].entry_hash} ")


@pytest.mark.django_db
def test_the_audit_command_needs_a_subcommand(capsys):
    assert main(["audit"]) != 0
    assert "verify" in capsys.readouterr().err

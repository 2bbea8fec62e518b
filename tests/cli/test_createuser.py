"""`haven createuser`: good input creates exactly one account; bad input a clear error and nothing."""

from __future__ import annotations

import pytest

from haven.accounts.models import Role, Team, User
from haven.audit.models import AuditEntry
from haven.cli import main

STRONG = "a long and unusual passphrase 42"


@pytest.fixture
def password_file(tmp_path):
    def write(text: str | bytes) -> str:
        path = tmp_path / "pw.txt"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def _snapshot():
    return (
        sorted(User.objects.values_list("username", flat=True)),
        Team.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.mark.django_db
def test_creates_a_user_with_role_and_team_from_a_password_file(password_file, capsys):
    code = main(
        [
            "createuser",
            "mina",
            "--role",
            "caseworker",
            "--team",
            "Team Mekong",
            "--password-file",
            password_file(STRONG + "\n"),
        ]
    )

    assert code == 0
    user = User.objects.get(username="mina")
    assert user.role == Role.CASEWORKER and user.team.name == "Team Mekong"
    assert user.check_password(STRONG)
    assert not user.is_staff
    assert "Created mina" in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="user.create", target_id=str(user.pk)).exists()


@pytest.mark.django_db
def test_password_is_asked_twice_on_a_terminal(monkeypatch, capsys):
    answers = iter([STRONG, STRONG])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    assert main(["createuser", "김철수", "--role", "intake"]) == 0
    assert User.objects.get(username="김철수").check_password(STRONG)


@pytest.mark.django_db
def test_partner_liaison_is_attached_to_their_agency(partner, password_file):
    code = main(
        [
            "createuser",
            "liaison1",
            "--role",
            "partner_liaison",
            "--partner",
            "ministry of unification",
            "--password-file",
            password_file(STRONG),
        ]
    )
    assert code == 0
    assert User.objects.get(username="liaison1").partner == partner


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["createuser", "zoe"], "--role"),
        (["createuser", "zoe", "--role", "god"], "Unknown role 'god'"),
        (["createuser", "zoe", "--role", "Supervisor"], "choose one of"),
        (["createuser", "--role", "caseworker"], "username"),
        (["createuser", "zoe", "--role", "partner_liaison"], "needs --partner"),
        (["createuser", "zoe", "--role", "partner_liaison", "--partner", "Nobody"], "No partner"),
        (["createuser", "zoe", "--role", "caseworker", "--team", "x" * 81], "Bad team name"),
        (["createuser", "zoe", "--role", "caseworker", "--team", "a\x00b"], "control characters"),
        (
            ["createuser", "zoe", "--role", "caseworker", "--password-file", "/nonexistent/pw"],
            "Cannot read the password file",
        ),
    ],
)
def test_bad_arguments_give_a_clear_error_and_store_nothing(argv, expected, capsys):
    before = _snapshot()

    code = main(argv)

    captured = capsys.readouterr()
    assert code != 0
    assert expected in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username",
    [
        "<script>alert(1)</script>",
        "alice'; DROP TABLE accounts_user; --",
        '=HYPERLINK("http://evil")',
        "bad\x00name",
        "new\nline",
        "   ",
        "x" * 151,
        "../../etc/passwd",
    ],
)
def test_hostile_usernames_are_refused(username, password_file, capsys):
    before = _snapshot()

    code = main(
        ["createuser", username, "--role", "caseworker", "--password-file", password_file(STRONG)]
    )

    captured = capsys.readouterr()
    assert code == 1
    assert "username" in captured.err
    assert "Traceback" not in captured.err
    assert _snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short", "too short"),
        ("password1234", "too common"),
        ("", "empty"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
    ],
)
def test_weak_or_unreadable_passwords_are_refused(password, expected, password_file, capsys):
    before = _snapshot()

    code = main(
        ["createuser", "zoe", "--role", "caseworker", "--password-file", password_file(password)]
    )

    captured = capsys.readouterr()
    assert code == 1
    assert expected in captured.err
    assert "Nothing was changed" in captured.err or expected in ("empty", "not UTF-8")
    assert _snapshot() == before


@pytest.mark.django_db
def test_a_weak_password_does_not_leave_a_new_team_behind(password_file, capsys):
    before = _snapshot()
    code = main(
        [
            "createuser",
            "zoe",
            "--role",
            "caseworker",
            "--team",
            "Brand new team",
            "--password-file",
            password_file("short"),
        ]
    )
    assert code == 1
    assert _snapshot() == before


@pytest.mark.django_db
def test_duplicate_username_is_refused_case_insensitively(alice, password_file, capsys):
    before = _snapshot()

    code = main(
        ["createuser", "ALICE", "--role", "caseworker", "--password-file", password_file(STRONG)]
    )

    assert code == 1
    assert "is taken" in capsys.readouterr().err
    assert _snapshot() == before
    assert User.objects.get(username="alice").role == Role.SUPERVISOR


@pytest.mark.django_db
def test_mismatched_prompted_passwords_are_refused(monkeypatch, capsys):
    answers = iter([STRONG, STRONG + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    assert main(["createuser", "zoe", "--role", "caseworker"]) == 1
    assert "differ" in capsys.readouterr().err
    assert not User.objects.filter(username="zoe").exists()


@pytest.mark.django_db
def test_without_a_terminal_or_password_file_it_says_what_to_do(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    assert main(["createuser", "zoe", "--role", "caseworker"]) == 1
    assert "--password-file" in capsys.readouterr().err
    assert not User.objects.filter(username="zoe").exists()

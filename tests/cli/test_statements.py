"""`haven statements`: listing, showing, exporting a released statement (the gate and the leak
check asked again) and releasing an approved one, as a named press officer."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from haven.disclosure.models import StatementStatus
from haven.disclosure.services import (
    cover_set,
    statement_approve,
    statement_create,
    statement_submit,
)
from tests.disclosure.helpers import (
    STATEMENT_EN,
    TO_THAILAND,
    advance,
    arrive,
    group_fields,
    make_group,
)
from tests.factories import PASSWORD, ctx_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


@pytest.fixture
def approved(ctx, alice, heidi):
    group = make_group(ctx, alice)
    advance(ctx, alice, group, TO_THAILAND)
    arrive(ctx, alice, group)
    cover = cover_set(
        ctx=ctx, actor=alice, group=group, label="Spring group", fields=group_fields(arrived=True)
    )
    press = ctx_for(heidi)
    statement = statement_create(
        ctx=press,
        actor=heidi,
        title="Three arrive",
        texts={"en": STATEMENT_EN},
        subjects={"A": str(cover.pk)},
    )
    statement_submit(ctx=press, actor=heidi, statement=statement, expected_version=1)
    statement_approve(ctx=ctx, actor=alice, statement=statement, expected_version=2)
    statement.refresh_from_db()
    return statement


def test_release_then_export_as_text_and_html(approved, password_file, tmp_path, capsys) -> None:
    args = ["--user", "heidi", "--password-file", str(password_file)]
    with pytest.raises(CommandError, match="Only a released statement"):
        call_command("statements", "export", str(approved.pk), *args)
    call_command("statements", "release", str(approved.pk), *args)
    approved.refresh_from_db()
    assert approved.status == StatementStatus.RELEASED
    call_command("statements", "export", str(approved.pk), *args)
    assert "from Shanghai arrived in South Korea" in capsys.readouterr().out
    out = tmp_path / "statement.html"
    call_command(
        "statements", "export", str(approved.pk), *args, "--format", "html", "--output", str(out)
    )
    assert "<h1>Three arrive</h1>" in out.read_text()
    call_command("statements", "list", *args)
    assert "Released" in capsys.readouterr().out


def test_roles_without_statements_and_wrong_passwords_are_refused(
    approved, bob, tmp_path, password_file
) -> None:
    with pytest.raises(CommandError, match="does not work with statements"):
        call_command("statements", "list", "--user", "bob", "--password-file", str(password_file))
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    with pytest.raises(CommandError, match="does not unlock"):
        call_command("statements", "list", "--user", "heidi", "--password-file", str(wrong))

"""`haven statements list|show|export|release --user NAME`: press statements from the command
line, as the press officer or supervisor named (their password unlocks their key).

``export`` writes a released statement as plain text or print-ready HTML, after asking the gate and
the leak check again (as every page does); ``release`` releases an approved statement at a chosen
moment (say, from a scheduled job when an embargo ends).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from haven import access
from haven.accounts.models import User
from haven.crypto import CryptoError, KeyContext
from haven.demo.management.prompts import read_password
from haven.disclosure import facts, rendering
from haven.disclosure import selectors as s
from haven.disclosure.services import StatementBlockedError, statement_release
from haven.errors import ConflictError
from haven.vault.context import context_for
from haven.vault.services import user_key_open


def press_context(name: str, password_file: Path | None) -> tuple[User, KeyContext]:
    user = User.objects.filter(username=name.strip()).first()
    if user is None or not hasattr(user, "key") or not user.is_active:
        raise CommandError(f"No active staff member named {name!r} with a key pair.")
    if not access.allowed(user, "statement.read"):
        raise CommandError(f"{user.username}'s role does not work with statements.")
    try:
        key = user_key_open(user=user, password=read_password(password_file))
    except CryptoError as exc:
        raise CommandError("The password does not unlock the key; nothing was done.") from exc
    return user, context_for(user, key)


class Command(BaseCommand):
    help = "Press statements: list, show, export a released one, release an approved one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, about in (
            ("list", "statements, newest first"),
            ("show", "one statement as written, with its preview"),
            ("export", "a released statement as plain text or print-ready HTML"),
            ("release", "release an approved statement"),
        ):
            command = sub.add_parser(name, help=about)
            if name != "list":
                command.add_argument("statement", help="the statement's id")
            command.add_argument("--user", required=True, help="a press officer or supervisor")
            command.add_argument("--password-file", type=Path, help="their password (else asked)")
            if name == "export":
                command.add_argument("--format", choices=("text", "html"), default="text")
                command.add_argument("--output", type=Path, help="a file (default: the screen)")

    def handle(self, *args: Any, **options: Any) -> None:
        user, ctx = press_context(options["user"], options["password_file"])
        try:
            if options["action"] == "list":
                self._list(user, ctx)
                return
            statement = s.statement_get(user=user, statement_id=options["statement"])
            if options["action"] == "show":
                self._show(user, ctx, statement)
            elif options["action"] == "export":
                self._export(user, ctx, statement, options["format"], options["output"])
            else:
                statement_release(
                    ctx=ctx, actor=user, statement=statement, expected_version=statement.version
                )
                self.stdout.write(f"Released {statement.pk}.")
        except Http404 as exc:
            raise CommandError("No such statement.") from exc
        except s.StatementWithheldError as exc:
            raise CommandError(str(exc)) from exc
        except StatementBlockedError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except ConflictError as exc:
            raise CommandError("It changed meanwhile; nothing was done. Try again.") from exc
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        finally:
            ctx.forget()

    def _list(self, user: User, ctx: KeyContext) -> None:
        statements = list(s.statement_list(user=user)[:200])
        for row in s.statement_rows(ctx=ctx, user=user, statements=statements):
            state = row.statement.get_status_display()
            safe = "safe" if row.open else "withheld"
            self.stdout.write(f"{row.statement.pk}  {state:<22} {safe:<8} {row.title}")

    def _show(self, user: User, ctx: KeyContext, statement: Any) -> None:
        view = s.statement_view(ctx=ctx, user=user, statement=statement)
        self.stdout.write(f"{view.title}  [{statement.get_status_display()}]")
        for subject in view.subjects:
            flag = "safe" if subject.open else "not yet safe"
            self.stdout.write(f"  {subject.handle}: {subject.label or '(gone)'} ({flag})")
        for language in facts.LANGUAGES:
            if view.preview.texts.get(language):
                self.stdout.write(f"\n[{language}] {view.preview.texts[language]}")

    def _export(
        self, user: User, ctx: KeyContext, statement: Any, form: str, output: Path | None
    ) -> None:
        out = s.statement_output(ctx=ctx, user=user, statement=statement, form=f"cli-{form}")
        released = f"Released {str(out.get('at') or '')[:16].replace('T', ' ')}"
        if form == "text":
            body = rendering.plain_text(
                title=out["title"], texts=out["texts"], released_at=released
            )
        else:
            sections = "".join(
                f'<section lang="{lang}"><p>{html.escape(out["texts"][lang])}</p></section>\n'
                for lang in facts.LANGUAGES
                if out["texts"].get(lang)
            )
            body = (
                f'<!doctype html>\n<html><head><meta charset="utf-8"><title>'
                f"{html.escape(out['title'])}</title></head><body>\n<h1>"
                f"{html.escape(out['title'])}</h1>\n<p>{html.escape(released)}</p>\n"
                f"{sections}</body></html>\n"
            )
        if output is None:
            sys.stdout.write(body)
        else:
            output.write_text(body, encoding="utf-8")
            self.stdout.write(f"Written to {output}.")

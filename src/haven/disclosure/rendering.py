"""Statements as written (with references) and as rendered (with cover values), the plain-text and
print-ready forms of a released statement, and the hook for a PDF.

A press officer writes ``[[A.origin]]`` where the statement says where the people of subject A
came from; rendering puts the cover value there (Shanghai, where the truth is Shanxi). Rendering
never happens without the gate (:mod:`haven.disclosure.gate`): a subject that may not be spoken
about is rendered as a placeholder in a preview, and blocks approval and release.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from haven.disclosure.facts import FIELDS, LANGUAGES, value_in

REFERENCE = re.compile(r"\[\[\s*([A-Za-z][A-Za-z0-9]?)\s*\.\s*([A-Za-z_]+)\s*\]\]")
HANDLE = re.compile(r"^[A-Z][0-9]?$")
WITHHELD = "[…]"
MISSING = "[?]"
# Markup a statement never needs, and that would run or mislead wherever the text is pasted.
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]|javascript\s*:|data\s*:\s*text/html", re.IGNORECASE)
# Invisible and direction-changing characters: they hide words from a reader and from the leak
# check alike (a name with a zero-width space inside is still read by a person).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def refuse_markup(value: str, *, field_name: str) -> None:
    """A clear error for HTML or script in a statement's text, title or a cover value."""
    if _MARKUP.search(value):
        raise ValidationError(
            {
                field_name: "Contains markup (HTML tags or a script address). A statement is plain "
                "text: write it without tags; < followed by a letter is refused."
            }
        )
    if _INVISIBLE.search(value):
        raise ValidationError(
            {
                field_name: "Contains invisible or direction-changing characters (zero-width "
                "spaces, direction overrides). Retype the text without them."
            }
        )


def references(text: str) -> list[tuple[str, str, int, int]]:
    """(handle, fact, start, end) of every reference in ``text``."""
    return [(m.group(1), m.group(2), m.start(), m.end()) for m in REFERENCE.finditer(text)]


def check_references(texts: Mapping[str, str], handles: set[str]) -> None:
    """Every reference names a subject of the statement and a known fact; nothing looks like a
    reference that is not one. ValidationError on the text's language otherwise."""
    for language, text in texts.items():
        for handle, fact, _start, _end in references(text):
            if handle not in handles:
                raise ValidationError(
                    {
                        f"texts.{language}": f"[[{handle}.{fact}]] names subject {handle}, which "
                        "this statement does not have: add it, or correct the reference."
                    }
                )
            if fact not in FIELDS:
                raise ValidationError(
                    {
                        f"texts.{language}": f"[[{handle}.{fact}]]: “{fact}” is not a fact a "
                        f"statement can mention (one of: {', '.join(FIELDS)})."
                    }
                )
        leftover = REFERENCE.sub("", text)
        if "[[" in leftover or "]]" in leftover:
            raise ValidationError(
                {
                    f"texts.{language}": "Contains [[ or ]] that is not a reference: write a "
                    "reference as [[A.origin]] (a subject's letter, a dot, a fact)."
                }
            )


@dataclass
class Rendered:
    """A statement with its references filled: ``texts`` per language (and "title"), the
    references with no value (``missing``, as "A.origin") and the subjects withheld by the gate."""

    texts: dict[str, str]
    missing: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.withheld

    def digest(self) -> str:
        """What an approval is bound to: the exact text approved."""
        canonical = json.dumps(self.texts, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def render(
    *,
    title: str,
    texts: Mapping[str, str],
    subjects: Mapping[str, Mapping[str, Any] | None],
) -> Rendered:
    """Fill every reference. ``subjects`` maps each handle to its cover payload, or to None when
    the gate keeps it closed (its references become a placeholder and it is listed as withheld)."""
    missing: list[str] = []
    withheld: list[str] = []

    def fill(text: str, language: str) -> str:
        def one(match: re.Match[str]) -> str:
            handle, fact = match.group(1), match.group(2)
            if handle not in subjects:
                missing.append(f"{handle}.{fact}")
                return MISSING
            cover = subjects[handle]
            if cover is None:
                if handle not in withheld:
                    withheld.append(handle)
                return WITHHELD
            entry = (cover.get("fields") or {}).get(fact)
            value = value_in((entry or {}).get("values") or {}, language) if entry else ""
            if not value:
                missing.append(f"{handle}.{fact}")
                return MISSING
            return value

        return REFERENCE.sub(one, text)

    out = {"title": fill(title, "en")}
    for language in LANGUAGES:
        if texts.get(language):
            out[language] = fill(texts[language], language)
    return Rendered(texts=out, missing=sorted(set(missing)), withheld=withheld)


def plain_text(*, title: str, texts: Mapping[str, str], released_at: str) -> str:
    """The released statement as plain text: its title, when it was released, each language."""
    parts = [title, released_at, ""]
    for language in LANGUAGES:
        if texts.get(language):
            parts += [texts[language], ""]
    return "\n".join(parts).rstrip() + "\n"


# --- PDF ------------------------------------------------------------------------------------------


class PdfUnavailableError(RuntimeError):
    """This installation has no PDF module yet: use the print-ready version."""


PDF_MODULE = "haven.documents.pdf"


def statement_pdf(*, title: str, paragraphs: list[str], language: str, marking: str) -> bytes:
    """The hook for a PDF of a released statement: Haven's PDF module (``haven.documents.pdf``,
    ``render_document``) when it is installed, else :class:`PdfUnavailableError`. Whatever makes
    the PDF receives only the released text, which passed the gate and the leak check."""
    try:
        module = importlib.import_module(PDF_MODULE)
    except ImportError as exc:
        raise PdfUnavailableError(
            "PDF output is not available in this installation yet: print the print-ready version "
            "to PDF from the browser."
        ) from exc
    made: bytes = module.render_document(
        title=title, paragraphs=paragraphs, language=language, marking=marking
    )
    return made


def handles_valid(handles: list[str]) -> None:
    for handle in handles:
        if not HANDLE.match(handle):
            raise ValidationError(
                {
                    "subjects": f"“{handle}” is not a subject letter: use A to Z, optionally "
                    "followed by one digit (A, B, C1)."
                }
            )

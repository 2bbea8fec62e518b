"""Forms of the press pages: cover values (supervisors), statements (press officers), and the steps
of a statement. They check shape only; the services check meaning."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.disclosure import facts
from haven.disclosure.services import MAX_TEXT_CHARS, MAX_TITLE_CHARS, CoverInput

SUBJECT_HANDLES = ("A", "B", "C", "D", "E", "F")


class CoverForm(forms.Form):
    """The cover values of one case or group: per field, how it is filled, the value in each
    language (a cover value) or the reason (the truth, or part of it, published)."""

    label = forms.CharField(
        label=_("Label"),
        max_length=facts.MAX_LABEL_CHARS,
        help_text=_(
            "How the press office knows this record, e.g. “Spring group”. Never a name or a "
            "place: the press office always sees it."
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, is_group: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, spec in facts.FIELDS.items():
            modes = [m for m in spec.modes if not (is_group and name == "name" and m == facts.TRUE)]
            self.fields[f"{name}_mode"] = forms.ChoiceField(
                label=spec.label,
                required=False,
                choices=[("", _("Not published"))] + [(m, facts.MODE_LABELS[m]) for m in modes],
                help_text=spec.help,
            )
            for language in facts.LANGUAGES:
                self.fields[f"{name}_{language}"] = forms.CharField(
                    label=facts.LANGUAGE_NAMES[language],
                    required=False,
                    max_length=facts.MAX_VALUE_CHARS,
                )
            self.fields[f"{name}_reason"] = forms.CharField(
                label=_("Reason"),
                required=False,
                max_length=facts.MAX_REASON_CHARS,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def rows(self) -> list[dict[str, Any]]:
        """The fields grouped for the template: one row per outward field."""
        return [
            {
                "name": name,
                "label": spec.label,
                "mode": self[f"{name}_mode"],
                "values": [self[f"{name}_{language}"] for language in facts.LANGUAGES],
                "reason": self[f"{name}_reason"],
            }
            for name, spec in facts.FIELDS.items()
        ]

    def inputs(self) -> dict[str, CoverInput]:
        data = self.cleaned_data
        return {
            name: CoverInput(
                mode=data.get(f"{name}_mode") or "",
                values={lang: data.get(f"{name}_{lang}") or "" for lang in facts.LANGUAGES},
                reason=data.get(f"{name}_reason") or "",
            )
            for name in facts.FIELDS
        }

    @staticmethod
    def initial_from(label: str, fields: dict[str, Any], version: int | None) -> dict[str, Any]:
        initial: dict[str, Any] = {"label": label, "version": version}
        for name, entry in fields.items():
            initial[f"{name}_mode"] = entry.get("mode", "")
            initial[f"{name}_reason"] = entry.get("reason", "")
            if entry.get("mode") == facts.COVER:
                for language, value in (entry.get("values") or {}).items():
                    initial[f"{name}_{language}"] = value
        return initial


class StatementForm(forms.Form):
    """A statement: title, text in up to three languages, and its subjects (cover records)."""

    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE_CHARS)
    text_en = forms.CharField(
        label=_("English"),
        required=False,
        max_length=MAX_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    text_ko = forms.CharField(
        label=_("Korean"),
        required=False,
        max_length=MAX_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "lang": "ko"}),
    )
    text_zh = forms.CharField(
        label=_("Chinese"),
        required=False,
        max_length=MAX_TEXT_CHARS,
        widget=forms.Textarea(attrs={"rows": 6, "lang": "zh"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, covers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *covers]
        for handle in SUBJECT_HANDLES:
            self.fields[f"subject_{handle}"] = forms.ChoiceField(
                label=_("Subject %(handle)s") % {"handle": handle},
                required=False,
                choices=choices,
            )

    def subject_fields(self) -> list[Any]:
        return [self[f"subject_{handle}"] for handle in SUBJECT_HANDLES]

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"],
            "texts": {lang: data.get(f"text_{lang}") or "" for lang in facts.LANGUAGES},
            "subjects": {
                handle: data[f"subject_{handle}"]
                for handle in SUBJECT_HANDLES
                if data.get(f"subject_{handle}")
            },
        }


class NoteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    note = forms.CharField(
        label=_("Note to the author"),
        max_length=facts.MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReasonForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label=_("Why"), max_length=facts.MAX_REASON_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )


class ApproveForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    cleared_reason = forms.CharField(
        label=_("Why the ticked words are about someone else"),
        required=False,
        max_length=facts.MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OpeningForm(forms.Form):
    reason = forms.CharField(
        label=_("Why statements may speak about this person"),
        required=False,
        max_length=facts.MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    close = forms.BooleanField(required=False)

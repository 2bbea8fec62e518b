"""Forms of the import pages: the upload, the column mapping, the load."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.cases.models import Channel, Urgency
from haven.imports.columns import FIELDS
from haven.imports.dates import DAY_FIRST, MONTH_FIRST
from haven.imports.reading import ENCODINGS

DATE_ORDER_CHOICES = [
    (DAY_FIRST, _("Day first: 05/03/1990 is 5 March")),
    (MONTH_FIRST, _("Month first: 05/03/1990 is 3 May")),
]
ENCODING_CHOICES = [("", _("Detect it"))] + [(e, e.upper()) for e in ENCODINGS]


class OptionsMixin(forms.Form):
    date_order = forms.ChoiceField(
        label=_("Dates like 05/03/1990"), choices=DATE_ORDER_CHOICES, initial=DAY_FIRST
    )
    default_country = forms.CharField(
        label=_("Country for rows that name none (ISO code)"), max_length=2, required=False
    )
    default_channel = forms.ChoiceField(
        label=_("Channel for rows that name none"), choices=Channel.choices, initial=Channel.STAFF
    )
    default_urgency = forms.TypedChoiceField(
        label=_("Urgency for rows that name none"),
        choices=Urgency.choices,
        coerce=int,
        initial=Urgency.NORMAL,
    )


class UploadForm(OptionsMixin):
    file = forms.FileField(label=_("Spreadsheet (CSV or XLSX)"))
    saved_mapping = forms.ChoiceField(label=_("Column mapping"), required=False)
    encoding = forms.ChoiceField(
        label=_("Text encoding (CSV)"), choices=ENCODING_CHOICES, required=False
    )
    sheet = forms.CharField(
        label=_("Sheet (XLSX; empty: the first)"), max_length=31, required=False
    )

    def __init__(self, *args: Any, mappings: list[tuple[Any, str]] = (), **kwargs: Any):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        choices = [("", _("Guess from the headers"))] + [(str(m.pk), name) for m, name in mappings]
        self.fields["saved_mapping"].choices = choices  # type: ignore[attr-defined]


class MappingForm(OptionsMixin):
    """One choice per column of the file, and the options; optionally saved under a name."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    save_as = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False)

    def __init__(self, *args: Any, headers: list[str] = (), **kwargs: Any):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        choices = [("", _("— not imported —"))] + [(k, v) for k, v in FIELDS.items()]
        for i, header in enumerate(self.headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=header, choices=choices, required=False
            )

    def column_fields(self) -> list[Any]:
        return [self[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data.get(f"col_{i}") or "" for i, h in enumerate(self.headers)}


class CommitForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    skip = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing (one transaction; for files that must load whole)"), required=False
    )

    def __init__(self, *args: Any, rows: list[int] = (), **kwargs: Any):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        self.fields["skip"].choices = [(r, str(r)) for r in rows]  # type: ignore[attr-defined]

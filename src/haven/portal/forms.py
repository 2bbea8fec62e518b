"""The portal's forms. Messages are kind and translated; nothing here stores anything."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from haven.cases.models import Urgency
from haven.portal.services import (
    FORM_TOKEN_LIFETIME,
    MAX_ACCOUNT_CHARS,
    MAX_CONTACT_CHARS,
    MAX_NAME_CHARS,
    MAX_PEOPLE,
    MAX_REGION_CHARS,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
FORM_SALT = "haven.portal.form"

COUNTRIES = [
    ("CN", _("China")),
    ("TH", _("Thailand")),
    ("LA", _("Laos")),
    ("VN", _("Vietnam")),
    ("KH", _("Cambodia")),
    ("MM", _("Myanmar")),
    ("MN", _("Mongolia")),
    ("RU", _("Russia")),
    ("KP", _("North Korea")),
    ("KR", _("South Korea")),
    ("", _("Another country, or I would rather not say")),
]
URGENCIES = [
    (Urgency.CRITICAL, _("In danger now")),
    (Urgency.HIGH, _("Urgent: within days")),
    (Urgency.NORMAL, _("Soon")),
    (Urgency.LOW, _("Not urgent")),
]


def form_token_new() -> str:
    """A signed one-time token for one form (no cookie: the page carries it)."""
    return signing.TimestampSigner(salt=FORM_SALT).sign(secrets.token_urlsafe(16))


def form_token_check(value: object) -> str | None:
    """The token's random part if it is ours and fresh, else None."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return signing.TimestampSigner(salt=FORM_SALT).unsign(value, max_age=FORM_TOKEN_LIFETIME)
    except signing.BadSignature:
        return None


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ValidationError(
            _("This contains invisible control characters that we cannot store. Please retype it."),
            code="control",
        )


def _text(max_length: int, *, required: bool, widget: Any = None, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        max_length=max_length,
        required=required,
        widget=widget,
        validators=[_no_control],
        error_messages={
            "required": _("Please fill this in."),
            "max_length": _(
                "This is too long: at most %(limit_value)d characters, and it has %(show_value)d. "
                "Please shorten it."
            ),
            "null_characters_not_allowed": _(
                "This contains invisible control characters that we cannot store. Please retype it."
            ),
        },
        **kwargs,
    )


def people_count(value: object) -> int:
    try:
        number = int(str(value)[:3])
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PEOPLE)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Any number of files, as they arrived; haven.attachments checks them (by content)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data]
        return [item for item in items if item]


def _files_field() -> FilesField:
    """The optional file field of the request and message forms (haven.attachments limits)."""
    return FilesField(
        required=False,
        label=_("Photos or documents (optional: JPEG, PNG, WebP or PDF)"),
        widget=MultipleFileInput(
            attrs={
                "accept": "image/jpeg,image/png,image/webp,application/pdf,.jpg,.jpeg,.png,.webp,.pdf"
            }
        ),
    )


def _files_help() -> str:
    """The file field's help text, with the limits as configured now."""
    return _(
        "Up to %(n)d files, at most %(mb)d MB each. They are locked like everything else, and "
        "our team reads a copy without the location and camera details photos often carry."
    ) % {
        "n": settings.HAVEN_ATTACHMENT_MAX_FILES,
        "mb": settings.HAVEN_ATTACHMENT_MAX_BYTES // 1_000_000,
    }


class PeopleCountForm(forms.Form):
    people = forms.TypedChoiceField(
        label=_("How many people need help?"),
        choices=[(n, str(n)) for n in range(1, MAX_PEOPLE + 1)],
        coerce=int,
    )


class RequestForm(forms.Form):
    """Who needs help (one row per person), where roughly, how urgent, what happened, how to
    reach them."""

    people = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_PEOPLE)
    token = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    country = forms.ChoiceField(
        label=_("Which country are you in now?"), choices=COUNTRIES, required=False
    )
    region = _text(
        MAX_REGION_CHARS,
        required=False,
        label=_("Region or city (roughly; only if it is safe to say)"),
    )
    urgency = forms.TypedChoiceField(
        label=_("How urgent is it?"),
        choices=URGENCIES,
        coerce=int,
        widget=forms.RadioSelect,
        initial=Urgency.NORMAL,
        error_messages={"required": _("Please choose how urgent it is.")},
    )
    account = _text(
        MAX_ACCOUNT_CHARS,
        required=True,
        widget=forms.Textarea(attrs={"rows": 8}),
        label=_("What happened, and what help do you need?"),
    )
    contact = _text(
        MAX_CONTACT_CHARS,
        required=False,
        label=_("How may we reach you? (optional: a phone number, a messenger ID, a time)"),
    )
    # Last in the form, so that a file refused while it arrives never costs the text above it.
    attachments = _files_field()

    def __init__(self, *args: Any, count: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _files_help()
        self.count = count
        self.fields["people"].initial = count
        names = {}
        for i in range(count):
            field = _text(
                MAX_NAME_CHARS, required=True, label=_("Name of person %(n)d") % {"n": i + 1}
            )
            field.help_text = (
                _("Any name you choose to give: a nickname is fine.") if i == 0 else ""
            )
            field.error_messages["required"] = _(
                "Please give a name for this person (a nickname is fine)."
            )
            names[f"name_{i}"] = field
        # Names first, in order.
        self.fields = {**{"people": self.fields.pop("people")}, **names, **self.fields}

    @property
    def name_fields(self) -> list[forms.BoundField]:
        return [self[f"name_{i}"] for i in range(self.count)]


class StatusForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    receipt = forms.CharField(
        label=_("Your receipt number"),
        max_length=100,
        error_messages={
            "required": _("Please type your receipt number."),
            "max_length": _("This is too long to be a receipt number."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


class ConfirmForm(forms.Form):
    state = forms.CharField(widget=forms.HiddenInput, max_length=500)
    saved = forms.BooleanField(
        label=_("I have written down or saved my receipt number."),
        error_messages={
            "required": _(
                "Please save the number first, then tick this box. We cannot show it again later."
            )
        },
    )


MAX_MESSAGE_CHARS = 5_000


class MessageForm(forms.Form):
    """Adding a message or details, or files (photos, PDFs), or both. The receipt rides along in
    a hidden field (POST only, never in a URL): without cookies, that is how the next page knows
    it is still you."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    receipt = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)
    body = _text(
        MAX_MESSAGE_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label=_("Write to us: a question, an answer or more details"),
    )
    # Last in the form, so that a file refused while it arrives never costs the text above it.
    attachments = _files_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _files_help()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "body" in cleaned and not cleaned["body"] and not cleaned.get("attachments"):
            self.add_error("body", _("Please write a message or choose a file to send."))
        return cleaned


class BrokerLoginForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    credential = forms.CharField(
        label=_("Your access code"),
        max_length=200,
        error_messages={"required": _("Please type your access code.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class BrokerMessageForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200, required=False)
    request = forms.UUIDField(widget=forms.HiddenInput)
    body = _text(
        MAX_MESSAGE_CHARS,
        required=True,
        widget=forms.Textarea(attrs={"rows": 5}),
        label=_("Write to the caseworker"),
    )

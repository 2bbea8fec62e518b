"""Forms of the staff web interface.

Forms only parse input into Python types; the services validate it (lengths, control characters,
dates in the future, journey rules) and their errors are put back next to the fields with
:func:`add_service_errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Role, User
from haven.cases.journey import State
from haven.cases.models import Case, Channel, Confidence, RequestStatus, Source, Urgency
from haven.cases.search import MAX_QUERY_CHARS
from haven.cases.services import MAX_PEOPLE_PER_REQUEST, PersonInput
from haven.referrals.models import (
    DISCLOSABLE_FIELDS,
    Consent,
    ConsentMethod,
    Partner,
    Purpose,
    ReferralStatus,
)
from haven.validation import MAX_COUNTRY_CHARS, clean_country

SEX_CHOICES = [
    ("unknown", _("Unknown")),
    ("female", _("Female")),
    ("male", _("Male")),
    ("other", _("Other")),
]
PRECISION_CHOICES = [
    ("unknown", _("Unknown")),
    ("year", _("Year (YYYY)")),
    ("month", _("Month (YYYY-MM)")),
    ("day", _("Day (YYYY-MM-DD)")),
]
# The fixed occupations people were recorded with before occupations were kept as written:
# stored values are shown (and offered for editing) by these labels.
OCCUPATION_CHOICES = [
    ("unknown", _("Unknown")),
    ("trader", _("Trader")),
    ("restaurant_worker", _("Restaurant worker")),
    ("labourer", _("Labourer")),
    ("official", _("Official")),
    ("soldier", _("Soldier")),
    ("student", _("Student")),
    ("other", _("Other")),
]
CALENDAR_CHOICES = [
    ("", _("Not said")),
    ("solar", _("Solar")),
    ("lunar", _("Lunar")),
]


def occupation_as_text(value: Any) -> str:
    """A stored occupation as the person form shows it for editing: as written, an old fixed
    code by its label, "unknown" as nothing."""
    if not value or value == "unknown":
        return ""
    return str(dict(OCCUPATION_CHOICES).get(value, value))


OWNER_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.INTAKE)


class CountryInput(forms.TextInput):
    """A country typed as a name or a code, with the names of the page's language suggested
    by the browser (the ``countries`` datalist of ``web/_countries.html``; no JavaScript)."""

    def __init__(self, attrs: dict[str, Any] | None = None):
        super().__init__({"list": "countries", "autocomplete": "off", **(attrs or {})})


_PEOPLE_KEY = re.compile(r"^people\[(\d+)\]\.(\w+)$")


def _dt_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _text(rows: int = 4) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def owner_queryset() -> Any:
    return User.objects.filter(is_active=True, role__in=OWNER_ROLES).order_by("username")


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{obj.username} ({name})" if name else str(obj.username)


def add_service_errors(
    form: forms.Form, exc: ValidationError, *, rename: dict[str, str] | None = None
) -> None:
    """Put a service's ValidationError next to the matching fields (the rest above the form)."""
    rename = rename or {}
    for key, messages in _error_items(exc):
        name = rename.get(key, key)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


def _error_items(exc: ValidationError) -> Iterable[tuple[str, list[str]]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict.items()
    return [("__all__", list(exc.messages))]


def add_people_errors(
    forms_: Sequence[forms.Form], exc: ValidationError
) -> list[tuple[str, list[str]]]:
    """Route ``people[i].field`` errors to the i-th person form; return the other errors."""
    rest = []
    for key, messages in _error_items(exc):
        match = _PEOPLE_KEY.match(key)
        if match and int(match.group(1)) < len(forms_):
            form = forms_[int(match.group(1))]
            field = match.group(2)
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        else:
            rest.append((key, messages))
    return rest


class VersionForm(forms.Form):
    """An action on a versioned record: the version the user saw when the page was drawn."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- requests -------------------------------------------------------------------------------


class RequestFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *RequestStatus.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("Any")), *Channel.choices]
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"),
        required=False,
        choices=[("", _("Any")), *((str(v), label) for v, label in Urgency.choices)],
        coerce=int,
        empty_value=None,
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    awaiting = forms.BooleanField(label=_("Message waiting for a reply"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone or nobody")),
            ("me", _("Me")),
            ("none", _("Nobody yet")),
            *((str(u.pk), u.username) for u in owner_queryset()),
        ]


class BulkAssignForm(forms.Form):
    """Intake's bulk assignment: the requests ticked in the inbox, and who takes their cases."""

    request_ids = forms.MultipleChoiceField(label=_("Requests"))
    owner = OwnerField(label=_("Give their cases to"), queryset=User.objects.none())

    def __init__(self, *args: Any, requests: Sequence[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["request_ids"].choices = [(r, r) for r in requests]  # type: ignore[attr-defined]
        self.fields["owner"].queryset = owner_queryset()  # type: ignore[attr-defined]


class TriageForm(VersionForm):
    status = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (RequestStatus.TRIAGED, _("Keep (triaged)")),
            (RequestStatus.DECLINED, _("Decline")),
            (RequestStatus.DUPLICATE, _("Duplicate of an earlier request")),
        ],
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"), choices=Urgency.choices, coerce=int, required=False, empty_value=None
    )
    duplicate_of = forms.ChoiceField(
        label=_("Earlier request"),
        required=False,
        help_text=_(
            "Only when marking a duplicate. Listed first: requests whose people may be the same "
            "as this one's, then the same broker's, then the most recent."
        ),
    )

    def __init__(self, *args: Any, earlier: Sequence[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["duplicate_of"].choices = [("", "—"), *earlier]  # type: ignore[attr-defined]


class RequestForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    broker = forms.ChoiceField(
        label=_("Broker"), required=False, help_text=_("Required when the channel is a broker.")
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"), choices=Urgency.choices, coerce=int, initial=Urgency.NORMAL
    )
    country = forms.CharField(
        label=_("Country now"),
        required=False,
        max_length=MAX_COUNTRY_CHARS,
        help_text=_("Coarse only: a name or an ISO code, for example China, 태국 or TH."),
        widget=CountryInput,
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        required=False,
        widget=_dt_widget(),
        help_text=_("Leave empty for now."),
    )
    account = forms.CharField(label=_("Account, as told"), widget=_text(6), strip=False)
    contact = forms.CharField(label=_("How to reach them"), required=False, widget=_text(2))
    group_label = forms.CharField(label=_("Group label (internal)"), required=False, max_length=200)
    owner = OwnerField(label=_("Owner"), queryset=User.objects.none(), required=False)
    people_count = forms.IntegerField(
        label=_("Number of people"),
        min_value=1,
        max_value=MAX_PEOPLE_PER_REQUEST,
        initial=1,
    )

    def __init__(self, *args: Any, brokers: Sequence[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["broker"].choices = [("", "—")] + list(brokers)  # type: ignore[attr-defined]
        self.fields["owner"].queryset = owner_queryset()  # type: ignore[attr-defined]


class PersonForm(forms.Form):
    name_hangul = forms.CharField(label=_("Name (Hangul)"), required=False)
    name_romanized = forms.CharField(label=_("Name (romanized)"), required=False)
    aliases = forms.CharField(
        label=_("Aliases"), required=False, help_text=_("Separate with commas.")
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=SEX_CHOICES, initial="unknown")
    birth_value = forms.CharField(label=_("Birth"), required=False, max_length=10)
    birth_precision = forms.ChoiceField(
        label=_("Birth precision"), choices=PRECISION_CHOICES, initial="unknown"
    )
    birth_calendar = forms.ChoiceField(
        label=_("Birth calendar"), choices=CALENDAR_CHOICES, required=False, initial=""
    )
    origin_region = forms.CharField(label=_("Origin region"), required=False)
    occupation = forms.CharField(
        label=_("Occupation"),
        required=False,
        max_length=200,
        help_text=_("As written or told, for example “restaurant worker in Ningbo”."),
    )
    own_words = forms.CharField(
        label=_("Own words on choosing to leave"), required=False, widget=_text(3), strip=False
    )

    def person_input(self) -> PersonInput:
        data = self.cleaned_data
        return PersonInput(
            name_hangul=data["name_hangul"],
            name_romanized=data["name_romanized"],
            aliases=data["aliases"],  # the service splits on commas
            sex=data["sex"],
            birth_value=data["birth_value"],
            birth_precision=data["birth_precision"],
            birth_calendar=data.get("birth_calendar") or "",
            origin_region=data["origin_region"],
            occupation=data["occupation"],
            own_words=data.get("own_words", ""),
        )


class PersonEditForm(PersonForm, VersionForm):
    own_words = None  # type: ignore[assignment]  # edited on the case, not the person


# --- cases ----------------------------------------------------------------------------------


class CaseFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=MAX_QUERY_CHARS,
        help_text=_("Hangul or any romanization; whole names or aliases."),
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any"))] + State.choices
    )
    urgency = forms.TypedChoiceField(
        label=_("Urgency"),
        required=False,
        choices=[("", _("Any")), *((str(v), label) for v, label in Urgency.choices)],
        coerce=int,
        empty_value=None,
    )
    country = forms.CharField(
        label=_("Country"), required=False, max_length=MAX_COUNTRY_CHARS, widget=CountryInput
    )
    owner = OwnerField(label=_("Owner"), queryset=User.objects.none(), required=False)
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[("", _("Any")), ("yes", _("Active only")), ("no", _("Finished only"))],
    )
    overdue = forms.BooleanField(label=_("Next contact overdue"), required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_queryset()  # type: ignore[attr-defined]

    def clean_country(self) -> str:
        try:
            return clean_country(self.cleaned_data["country"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["country"]) from exc


class _EventFields(forms.Form):
    occurred_at = forms.DateTimeField(
        label=_("Occurred at"), required=False, widget=_dt_widget(), help_text=_("Empty: now.")
    )
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=MAX_COUNTRY_CHARS,
        help_text=_("A name or an ISO code: Thailand, 태국, TH."),
        widget=CountryInput,
    )
    region = forms.CharField(label=_("Region"), required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.STAFF)
    confidence = forms.ChoiceField(
        label=_("Confidence"), choices=Confidence.choices, initial=Confidence.CONFIRMED
    )
    note = forms.CharField(label=_("Note"), required=False, widget=_text(2))

    def event_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "occurred_at": data["occurred_at"],
            "country": data["country"],
            "region": data["region"],
            "source": data["source"],
            "confidence": data["confidence"],
            "note": data["note"],
        }


class TransitionForm(_EventFields, VersionForm):
    to_state = forms.ChoiceField(label=_("Move to"))
    place = forms.CharField(label=_("Exact place (encrypted)"), required=False, widget=_text(2))
    field_order = [
        "to_state",
        "occurred_at",
        "country",
        "region",
        "place",
        "source",
        "confidence",
        "note",
    ]

    def __init__(self, *args: Any, allowed: Sequence[State] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["to_state"].choices = [(s.value, s.label) for s in allowed]  # type: ignore[attr-defined]

    def event_kwargs(self) -> dict[str, Any]:
        return {**super().event_kwargs(), "place": self.cleaned_data["place"]}


class GroupMoveForm(_EventFields):
    case_ids = forms.MultipleChoiceField(
        label=_("Members to move"), widget=forms.CheckboxSelectMultiple
    )
    to_state = forms.ChoiceField(label=_("Move to"))
    field_order = ["case_ids", "to_state"]

    def __init__(
        self,
        *args: Any,
        members: Sequence[tuple[str, str]] = (),
        targets: Sequence[State] | None = None,
        **kwargs: Any,
    ):
        # Its own ids: the case page also has the one-case form, with the same field names.
        kwargs.setdefault("auto_id", "id_group_%s")
        super().__init__(*args, **kwargs)
        self.fields["case_ids"].choices = list(members)  # type: ignore[attr-defined]
        self.fields["to_state"].choices = [  # type: ignore[attr-defined]
            (s.value, s.label) for s in (State if targets is None else targets)
        ]

    def clean_case_ids(self) -> list[str]:
        values: list[str] = self.cleaned_data["case_ids"]
        if any(not value.partition(":")[2].isdigit() for value in values):
            raise forms.ValidationError(_("Reload the page and choose the members again."))
        return values

    def case_versions(self) -> dict[str, int]:
        """The chosen members with the version each had when the page was drawn."""
        chosen = (value.partition(":") for value in self.cleaned_data["case_ids"])
        return {case_id: int(version) for case_id, _sep, version in chosen}


def group_targets(states: Iterable[tuple[str, str]]) -> list[State]:
    """Where the members in these (state, returns_to) can all go in one submission (through
    the steps between); where they have no common target, every target of any of them (the
    move is then checked member by member)."""
    from haven.cases.journey import reachable_targets

    sets = [set(reachable_targets(state, returns_to=back or None)) for state, back in states]
    if not sets:
        return []
    common = set.intersection(*sets) or set.union(*sets)
    return sorted(common, key=list(State).index)


def group_targets_any(states: Iterable[tuple[str, str]]) -> list[State]:
    """Every state any of the members in these (state, returns_to) can reach."""
    from haven.cases.journey import reachable_targets

    found: set[State] = set()
    for state, back in states:
        found |= set(reachable_targets(state, returns_to=back or None))
    return sorted(found, key=list(State).index)


def member_choice(case: Any) -> str:
    """A group member's checkbox value: its id and the version shown, so a stale page is caught."""
    return f"{case.pk}:{case.version}"


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=_text(3), strip=False)

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("auto_id", "id_notes_%s")
        super().__init__(*args, **kwargs)


class CaseEditForm(VersionForm):
    urgency = forms.TypedChoiceField(label=_("Urgency"), choices=Urgency.choices, coerce=int)
    next_contact_due = forms.DateTimeField(
        label=_("Next contact due"), required=False, widget=_dt_widget()
    )
    owner = OwnerField(label=_("Owner"), queryset=User.objects.none(), required=False)
    own_words = forms.CharField(
        label=_("Own words on choosing to leave"), required=False, widget=_text(4), strip=False
    )
    summary = forms.CharField(label=_("Summary"), required=False, widget=_text(4), strip=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_queryset()  # type: ignore[attr-defined]


# --- referrals ------------------------------------------------------------------------------


class ConsentField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _("%(partner)s · %(purpose)s · %(method)s · %(given)s · %(fields)s") % {
            "partner": obj.partner.name,
            "purpose": obj.get_purpose_display(),
            "method": obj.get_method_display(),
            "given": obj.given_at.strftime("%Y-%m-%d"),
            "fields": ", ".join(str(DISCLOSABLE_FIELDS.get(f, f)) for f in obj.fields),
        }


class ReferralForm(forms.Form):
    """One step: partner, purpose and the fields to share, then the consent they rest on (a new
    one, for exactly those fields, or one already given that covers them)."""

    partner = forms.ModelChoiceField(label=_("Partner"), queryset=Partner.objects.none())
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    disclosed_fields = forms.MultipleChoiceField(
        label=_("Fields to share, with the person's consent"),
        choices=list(DISCLOSABLE_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    cover_note = forms.CharField(label=_("Cover note"), required=False, widget=_text(3))
    existing_consent = ConsentField(
        label=_("Rest on a consent already given"),
        queryset=Consent.objects.none(),
        required=False,
        empty_label=_("No — record the person's consent below"),
    )
    consent_method = forms.ChoiceField(
        label=_("How consent was given"),
        choices=[("", "—"), *ConsentMethod.choices],
        required=False,
    )
    consent_words = forms.CharField(
        label=_("The person's words (or how it was relayed)"), required=False, widget=_text(3)
    )
    consent_given_at = forms.DateTimeField(
        label=_("Consent given at"), required=False, widget=_dt_widget(), help_text=_("Empty: now.")
    )

    def __init__(self, *args: Any, case: Case | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Partner.objects.filter(active=True)  # type: ignore[attr-defined]
        if case is not None:
            self.fields["existing_consent"].queryset = Consent.objects.filter(  # type: ignore[attr-defined]
                case=case, revoked_at__isnull=True
            ).select_related("partner")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        consent = data.get("existing_consent")
        if consent is None:
            if not data.get("consent_method"):
                self.add_error(
                    "consent_method",
                    _("Say how consent was given, or pick a consent already given."),
                )
            return data
        fields = set(data.get("disclosed_fields") or [])
        problems: list[str] = []
        if data.get("partner") is not None and consent.partner_id != data["partner"].pk:
            problems.append(str(_("it was given for another partner")))
        if data.get("purpose") and consent.purpose != data["purpose"]:
            problems.append(str(_("it was given for another purpose")))
        missing = [f for f in DISCLOSABLE_FIELDS if f in fields - set(consent.fields)]
        if missing:
            problems.append(
                str(_("it does not cover %(fields)s"))
                % {"fields": ", ".join(str(DISCLOSABLE_FIELDS[f]) for f in missing)}
            )
        if problems:
            self.add_error(
                "existing_consent",
                _(
                    "This consent cannot carry the referral: %(problems)s. Untick those fields, "
                    "or record the person's consent below instead."
                )
                % {"problems": "; ".join(str(p) for p in problems)},
            )
        return data


class ReferralConsentForm(VersionForm):
    """A draft whose consent does not cover it: record the consent that does."""

    consent_method = forms.ChoiceField(
        label=_("How consent was given"), choices=ConsentMethod.choices
    )
    consent_words = forms.CharField(
        label=_("The person's words (or how it was relayed)"), widget=_text(3)
    )
    consent_given_at = forms.DateTimeField(
        label=_("Consent given at"), required=False, widget=_dt_widget(), help_text=_("Empty: now.")
    )


class ReferralFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *ReferralStatus.choices]
    )
    partner = forms.ModelChoiceField(
        label=_("Partner"), required=False, queryset=Partner.objects.all(), empty_label=_("Any")
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"), required=False, choices=[("", _("Any")), *Purpose.choices]
    )


class RespondForm(VersionForm):
    status = forms.ChoiceField(
        label=_("Partner's answer"),
        choices=[
            (ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACKNOWLEDGED.label),
            (ReferralStatus.ACCEPTED, ReferralStatus.ACCEPTED.label),
            (ReferralStatus.DECLINED, ReferralStatus.DECLINED.label),
        ],
    )


# --- brokers and partners -------------------------------------------------------------------


class BrokerForm(forms.Form):
    alias = forms.CharField(label=_("Alias"))
    region = forms.CharField(label=_("Region"), required=False)
    contact = forms.CharField(label=_("Contact"), required=False, widget=_text(2))
    fee_notes = forms.CharField(label=_("Fee notes"), required=False, widget=_text(3))
    warnings = forms.CharField(label=_("Warnings"), required=False, widget=_text(3))


class BrokerEditForm(BrokerForm, VersionForm):
    pass


class PartnerForm(forms.Form):
    name = forms.CharField(label=_("Name"))
    country = forms.CharField(label=_("Country"), max_length=MAX_COUNTRY_CHARS, widget=CountryInput)


class PartnerEditForm(PartnerForm, VersionForm):
    active = forms.BooleanField(label=_("Active"), required=False)

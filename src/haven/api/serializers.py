"""Input and output serializers of the REST API.

Input serializers only check shape and type (and refuse fields they do not know); the services
check meaning (allowed moves, country codes, dates in the past, access). Output serializers render
plain dicts and records built by the views from selectors. Every name is unique, so the OpenAPI
schema has one component per serializer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from haven.brokers.models import BrokerStatus
from haven.cases.journey import State
from haven.cases.models import Channel, Confidence, RequestStatus, Source, Urgency
from haven.cases.search import MAX_QUERY_CHARS as MAX_SEARCH_CHARS
from haven.cases.services import (
    BIRTH_CALENDARS,
    BIRTH_PRECISIONS,
    MAX_ACCOUNT_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    MAX_OCCUPATION_CHARS,
    MAX_PEOPLE_PER_REQUEST,
    SEXES,
)
from haven.referrals.models import DISCLOSABLE_FIELDS, ConsentMethod, Purpose, ReferralStatus

# The choice sets, named once for the schema (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
JOURNEY_STATES = State.choices
URGENCIES = Urgency.choices
REQUEST_STATUSES = RequestStatus.choices
TRIAGE_STATUSES = [
    (str(c), str(c))
    for c in (RequestStatus.TRIAGED, RequestStatus.DECLINED, RequestStatus.DUPLICATE)
]
BROKER_STATUSES = BrokerStatus.choices
REFERRAL_STATUSES = ReferralStatus.choices
REFERRAL_RESPONSES = [
    (str(c), str(c))
    for c in (ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.DECLINED)
]
BIRTH_PRECISION_CHOICES = [(p, p) for p in BIRTH_PRECISIONS]
BIRTH_CALENDAR_CHOICES = [(c, c) for c in BIRTH_CALENDARS if c]
FIELD_CHOICES = [(f, f) for f in DISCLOSABLE_FIELDS]

# Lone surrogates parse from JSON ("\ud800") but are not Unicode text and cannot be stored.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# User ids are 64-bit: a larger number must be a clear 400, not an overflow in the database.
MAX_ID = 2**63 - 1


class Text(serializers.CharField):
    """Text that must arrive as a JSON string, with no NUL and no lone surrogates.

    Whitespace is kept as given: the services normalise it, so what is stored is what was sent.
    """

    default_error_messages = {
        "not_text": "Must be text.",
        "surrogate": "Contains characters that are not valid Unicode text.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_text")
        if _SURROGATE.search(data):
            self.fail("surrogate")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """JSON's ``true`` or ``false``, nothing else: DRF would also take 0, 1, "yes", "on"...,
    so that a typo or a wrong type could flip a flag without a word."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class QueryBoolean(serializers.BooleanField):
    """A flag in a query string: exactly ``true`` or ``false``."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data in ("true", "false"):
            return bool(data == "true")
        self.fail("invalid")


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know (a typo must not be ignored)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError(dict.fromkeys(unknown, ["Unknown field."]))
        return super().to_internal_value(data)


def _version() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        help_text="The record's version as you read it; a stale version gets 409 and changes nothing.",
    )


def _out_version() -> serializers.IntegerField:
    return serializers.IntegerField(help_text="Send this back with your next change.")


# --- errors (for the schema) ---------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), help_text="Messages by field name."
    )


class ConflictErrorSerializer(ErrorSerializer):
    current_version = serializers.IntegerField(allow_null=True)


class TransitionErrorSerializer(ErrorSerializer):
    from_state = serializers.CharField()
    to_state = serializers.CharField()


# --- auth ------------------------------------------------------------------------------------


class TokenObtainInputSerializer(StrictSerializer):
    username = Text(max_length=150, allow_blank=False)
    password = Text(max_length=1_000, allow_blank=False, style={"input_type": "password"})
    otp = Text(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="A code from your authenticator app, or a recovery code (two-factor login).",
    )


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class CaseStateOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=State.choices)
    version = _out_version()


# --- requests --------------------------------------------------------------------------------


class PersonFieldsSerializer(StrictSerializer):
    name_hangul = Text(max_length=MAX_NAME_CHARS, required=False)
    name_romanized = Text(max_length=MAX_NAME_CHARS, required=False)
    aliases = serializers.ListField(
        child=Text(max_length=MAX_NAME_CHARS), max_length=20, required=False
    )
    sex = serializers.ChoiceField(choices=SEXES, required=False, default="unknown")
    birth_value = Text(
        max_length=10, required=False, help_text="YYYY, YYYY-MM or YYYY-MM-DD by precision."
    )
    birth_precision = serializers.ChoiceField(
        choices=BIRTH_PRECISION_CHOICES, required=False, default="unknown"
    )
    birth_calendar = serializers.ChoiceField(
        choices=BIRTH_CALENDAR_CHOICES,
        required=False,
        allow_blank=True,
        default="",
        help_text="solar or lunar, when the record says; empty if not.",
    )
    origin_region = Text(max_length=200, required=False)
    occupation = Text(
        max_length=MAX_OCCUPATION_CHARS,
        required=False,
        help_text="As written (free text), e.g. “restaurant worker” or “협동농장원”.",
    )


class PersonCreateInputSerializer(PersonFieldsSerializer):
    own_words = Text(
        max_length=MAX_NOTE_CHARS, required=False, help_text="On choosing to leave, as told."
    )


class RequestCreateInputSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.NORMAL)
    account = Text(
        max_length=MAX_ACCOUNT_CHARS, allow_blank=False, help_text="The account as told."
    )
    contact = Text(max_length=1_000, required=False)
    country = Text(
        max_length=100,
        required=False,
        help_text="Coarse only: an ISO 3166 code (TH, THA) or a name in English, Korean or Chinese.",
    )
    received_at = serializers.DateTimeField(required=False, help_text="Not in the future.")
    broker = serializers.UUIDField(required=False, allow_null=True)
    group_label = Text(max_length=200, required=False)
    owner = serializers.IntegerField(max_value=MAX_ID, required=False, allow_null=True, min_value=1)
    people = PersonCreateInputSerializer(  # type: ignore[call-arg]
        many=True,
        allow_empty=False,
        max_length=MAX_PEOPLE_PER_REQUEST,
        error_messages={
            "max_length": f"A request can cover at most {MAX_PEOPLE_PER_REQUEST} people; "
            "split larger groups into several requests.",
            "empty": "A request covers at least one person.",
        },
    )


class RequestFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)


class RequestOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    received_at = serializers.DateTimeField()
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    people_count = serializers.IntegerField()
    broker = serializers.UUIDField(source="broker_id", allow_null=True)
    duplicate_of = serializers.UUIDField(source="duplicate_of_id", allow_null=True)
    triaged_at = serializers.DateTimeField(allow_null=True)
    version = _out_version()


class CaseRefOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    version = serializers.IntegerField()


class RequestDetailOutputSerializer(RequestOutputSerializer):
    account = serializers.CharField()
    contact = serializers.CharField()
    cases = CaseRefOutputSerializer(many=True)


class RequestCreatedOutputSerializer(RequestOutputSerializer):
    cases = CaseStateOutputSerializer(many=True, help_text="The cases opened, one per person.")


class RequestTriageInputSerializer(StrictSerializer):
    version = _version()
    status = serializers.ChoiceField(choices=TRIAGE_STATUSES)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    duplicate_of = serializers.UUIDField(required=False, allow_null=True)


# --- cases -----------------------------------------------------------------------------------


class CaseFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.choices, required=False)
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    country = Text(max_length=100, required=False)
    owner = serializers.IntegerField(max_value=MAX_ID, min_value=1, required=False)
    group = serializers.UUIDField(required=False)
    overdue = QueryBoolean(required=False, help_text="Next contact is overdue.")
    active = QueryBoolean(required=False, help_text="Not in a terminal state.")
    q = Text(
        max_length=MAX_SEARCH_CHARS,
        required=False,
        help_text="A name or alias, in Hangul or any romanization (Kim Sun-hui, Gim Seon-hui, "
        "김선희 find the same person). Matched through the blind index; no partial matches.",
    )


class CaseListItemOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    name_romanized = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    country = serializers.CharField()
    owner = serializers.IntegerField(max_value=MAX_ID, allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    group = serializers.UUIDField(allow_null=True)
    request = serializers.UUIDField(allow_null=True)
    opened_at = serializers.DateTimeField()
    state_changed_at = serializers.DateTimeField()
    next_contact_due = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    version = _out_version()


class BirthSerializer(serializers.Serializer):
    value = serializers.CharField()
    precision = serializers.ChoiceField(choices=BIRTH_PRECISION_CHOICES)
    calendar = serializers.ChoiceField(choices=BIRTH_CALENDAR_CHOICES, required=False)


class FamilyLinkSerializer(StrictSerializer):
    relation = Text(max_length=60, allow_blank=False)
    name = Text(max_length=MAX_NAME_CHARS, required=False)
    case_id = Text(max_length=36, required=False)


class PersonOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="Send with PUT .../person/.")
    name_hangul = serializers.CharField()
    name_romanized = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    sex = serializers.CharField()
    birth = BirthSerializer()
    origin_region = serializers.CharField()
    occupation = serializers.CharField()
    family = FamilyLinkSerializer(many=True)


class EventOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    from_state = serializers.CharField()
    to_state = serializers.ChoiceField(choices=State.choices)
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    recorded_by = serializers.IntegerField(allow_null=True)
    country = serializers.CharField()
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]
    confidence = serializers.ChoiceField(choices=Confidence.choices)
    region = serializers.CharField()
    place = serializers.CharField()
    note = serializers.CharField()


class NoteOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    author = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    text = serializers.CharField()


class CaseDetailOutputSerializer(CaseListItemOutputSerializer):
    returns_to = serializers.CharField()
    own_words = serializers.CharField()
    summary = serializers.CharField()
    exact_place = serializers.CharField()
    person = PersonOutputSerializer()
    events = EventOutputSerializer(many=True)
    notes = NoteOutputSerializer(many=True)
    group_members = CaseRefOutputSerializer(many=True)
    allowed_transitions = serializers.ListField(
        child=serializers.ChoiceField(choices=State.choices)
    )


class CaseUpdateInputSerializer(StrictSerializer):
    version = _version()
    urgency = serializers.ChoiceField(choices=Urgency.choices, required=False)
    next_contact_due = serializers.DateTimeField(required=False, allow_null=True)
    owner = serializers.IntegerField(max_value=MAX_ID, required=False, allow_null=True, min_value=1)
    own_words = Text(max_length=MAX_NOTE_CHARS, required=False)
    summary = Text(max_length=MAX_NOTE_CHARS, required=False)


class PersonUpdateInputSerializer(PersonFieldsSerializer):
    version = _version()
    family = FamilyLinkSerializer(many=True, required=False, max_length=50)  # type: ignore[call-arg]


class EventFieldsSerializer(StrictSerializer):
    to_state = serializers.ChoiceField(choices=State.choices)
    occurred_at = serializers.DateTimeField(required=False, help_text="Not in the future.")
    country = Text(
        max_length=100,
        required=False,
        help_text="Coarse only: an ISO 3166 code (TH, THA) or a name in English, Korean or Chinese.",
    )
    source = serializers.ChoiceField(choices=Source.choices, default=Source.STAFF)  # type: ignore[assignment]
    confidence = serializers.ChoiceField(choices=Confidence.choices, default=Confidence.CONFIRMED)
    region = Text(max_length=200, required=False)
    place = Text(max_length=500, required=False, help_text="Exact place; stored encrypted.")
    note = Text(max_length=MAX_NOTE_CHARS, required=False)


class CaseTransitionInputSerializer(EventFieldsSerializer):
    version = _version()


class CaseTransitionOutputSerializer(serializers.Serializer):
    case = CaseStateOutputSerializer()
    event = EventOutputSerializer()


class AllowedTransitionsOutputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=State.choices)
    returns_to = serializers.CharField()
    version = _out_version()
    allowed = serializers.ListField(child=serializers.ChoiceField(choices=State.choices))


class NoteCreateInputSerializer(StrictSerializer):
    text = Text(max_length=MAX_NOTE_CHARS, allow_blank=False)


class GroupTransitionInputSerializer(EventFieldsSerializer):
    case_ids = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=False, max_length=MAX_PEOPLE_PER_REQUEST
    )
    versions = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        help_text="Case id → version as you read it, for every chosen case; if any is stale, "
        "nobody moves (409).",
    )


class GroupTransitionOutputSerializer(serializers.Serializer):
    group = serializers.UUIDField()
    cases = CaseStateOutputSerializer(many=True)


# --- dashboard -------------------------------------------------------------------------------


class YearCountSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    count = serializers.IntegerField()


class DashboardOutputSerializer(serializers.Serializer):
    by_state = serializers.DictField(child=serializers.IntegerField())
    active = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    new_requests = serializers.IntegerField()
    urgent = CaseListItemOutputSerializer(many=True)
    overdue = CaseListItemOutputSerializer(many=True)
    requests_by_year = YearCountSerializer(many=True)


# --- brokers ---------------------------------------------------------------------------------


class BrokerInputSerializer(StrictSerializer):
    alias = Text(max_length=200, allow_blank=False)
    region = Text(max_length=200, required=False)
    contact = Text(max_length=1_000, required=False)
    fee_notes = Text(max_length=5_000, required=False)
    warnings = Text(max_length=5_000, required=False)


class BrokerUpdateInputSerializer(BrokerInputSerializer):
    version = _version()


class BrokerStatusInputSerializer(StrictSerializer):
    version = _version()
    status = serializers.ChoiceField(choices=BrokerStatus.choices)


class BrokerListItemOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    alias = serializers.CharField()
    region = serializers.CharField()
    status = serializers.ChoiceField(choices=BrokerStatus.choices)
    created_at = serializers.DateTimeField()
    request_count = serializers.IntegerField()
    version = _out_version()


class BrokerRecordSerializer(serializers.Serializer):
    requests = serializers.IntegerField()
    people = serializers.IntegerField()
    declined = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    arrived = serializers.IntegerField()
    bad_outcomes = serializers.IntegerField()
    in_progress = serializers.IntegerField()


class BrokerDetailOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    alias = serializers.CharField()
    region = serializers.CharField()
    contact = serializers.CharField()
    fee_notes = serializers.CharField()
    warnings = serializers.CharField()
    status = serializers.ChoiceField(choices=BrokerStatus.choices)
    created_at = serializers.DateTimeField()
    version = _out_version()
    record = BrokerRecordSerializer(help_text="Derived from the requests the broker brought.")


# --- partners --------------------------------------------------------------------------------


class PartnerCreateInputSerializer(StrictSerializer):
    name = Text(max_length=200, allow_blank=False)
    country = Text(max_length=100, allow_blank=False)


class PartnerUpdateInputSerializer(PartnerCreateInputSerializer):
    version = _version()
    active = Boolean()


class PartnerOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    country = serializers.CharField()
    active = serializers.BooleanField()
    version = _out_version()


# --- consents and referrals ------------------------------------------------------------------


class ConsentCreateInputSerializer(StrictSerializer):
    partner = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    fields = serializers.ListField(  # type: ignore[assignment]
        child=serializers.ChoiceField(choices=FIELD_CHOICES), allow_empty=False, max_length=20
    )
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    words = Text(
        max_length=10_000, allow_blank=False, help_text="The person's words, or how relayed."
    )
    given_at = serializers.DateTimeField(required=False, help_text="Not in the future.")


class ConsentOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    case = serializers.UUIDField()
    partner = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    given_at = serializers.DateTimeField()
    recorded_by = serializers.IntegerField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.IntegerField(allow_null=True)
    valid = serializers.BooleanField()
    words = serializers.CharField()
    version = _out_version()


class VersionInputSerializer(StrictSerializer):
    version = _version()


class ReferralCreateInputSerializer(StrictSerializer):
    case = serializers.UUIDField()
    partner = serializers.UUIDField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    disclosed_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=FIELD_CHOICES), allow_empty=False, max_length=20
    )
    consent = serializers.UUIDField(required=False, allow_null=True)
    cover_note = Text(max_length=10_000, required=False)


class ReferralConsentInputSerializer(StrictSerializer):
    version = _version()
    consent = serializers.UUIDField()


class ReferralRespondInputSerializer(StrictSerializer):
    version = _version()
    status = serializers.ChoiceField(choices=REFERRAL_RESPONSES)


class ReferralOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    case = serializers.UUIDField(source="case_id")
    partner = serializers.UUIDField(source="partner_id")
    partner_name = serializers.CharField(source="partner.name")
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    consent = serializers.UUIDField(source="consent_id", allow_null=True)
    disclosed_fields = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=ReferralStatus.choices)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    version = _out_version()


class ReferralDetailOutputSerializer(ReferralOutputSerializer):
    cover_note = serializers.CharField()
    consent_problem = serializers.CharField(
        allow_null=True, help_text="Why it cannot be sent yet, or null."
    )


class ReferralPacketOutputSerializer(serializers.Serializer):
    referral = serializers.UUIDField()
    partner = serializers.CharField()
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    arrived = serializers.BooleanField()
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), help_text="Exactly the disclosed fields."
    )
    cover_note = serializers.CharField()


# --- pages -----------------------------------------------------------------------------------


def _page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """A page of ``item`` as PageNumberPagination renders it, for the schema."""
    fields: dict[str, Any] = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": item(many=True),
        "__module__": __name__,
    }
    return type(name, (serializers.Serializer,), fields)


RequestPageSerializer = _page_of(RequestOutputSerializer, "RequestPageSerializer")
CasePageSerializer = _page_of(CaseListItemOutputSerializer, "CasePageSerializer")
NotePageSerializer = _page_of(NoteOutputSerializer, "NotePageSerializer")
BrokerPageSerializer = _page_of(BrokerListItemOutputSerializer, "BrokerPageSerializer")
PartnerPageSerializer = _page_of(PartnerOutputSerializer, "PartnerPageSerializer")
ConsentPageSerializer = _page_of(ConsentOutputSerializer, "ConsentPageSerializer")
ReferralPageSerializer = _page_of(ReferralOutputSerializer, "ReferralPageSerializer")

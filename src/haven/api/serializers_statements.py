"""Shapes of the press endpoints: cover records, statements and their steps, openings."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from haven.api.serializers import MAX_ID, StrictSerializer, Text, _page_of
from haven.disclosure import facts
from haven.disclosure.models import StatementStatus
from haven.disclosure.services import MAX_CLEARED, MAX_SUBJECTS, MAX_TEXT_CHARS, MAX_TITLE_CHARS

STATEMENT_STATUSES = StatementStatus.choices
COVER_MODES = [(m, m) for m in (facts.COVER, facts.TRUE, facts.MONTH, facts.YEAR, facts.ROUNDED)]
COVER_KINDS = [("case", "case"), ("group", "group")]
HIT_SOURCES = [("truth", "truth"), ("fingerprint", "fingerprint"), ("index", "index")]


class LanguageTextsSerializer(StrictSerializer):
    """Text per language; at least one."""

    en = Text(required=False, max_length=MAX_TEXT_CHARS)
    ko = Text(required=False, max_length=MAX_TEXT_CHARS)
    zh = Text(required=False, max_length=MAX_TEXT_CHARS)


class LanguageValuesSerializer(StrictSerializer):
    en = Text(required=False, max_length=facts.MAX_VALUE_CHARS)
    ko = Text(required=False, max_length=facts.MAX_VALUE_CHARS)
    zh = Text(required=False, max_length=facts.MAX_VALUE_CHARS)


class LanguageValuesOutputSerializer(serializers.Serializer):
    en = serializers.CharField(required=False)
    ko = serializers.CharField(required=False)
    zh = serializers.CharField(required=False)


class StatementInputSerializer(StrictSerializer):
    title = Text(max_length=MAX_TITLE_CHARS)
    texts = LanguageTextsSerializer(
        help_text="The text per language, with references such as [[A.origin]]."
    )
    subjects = serializers.DictField(
        child=serializers.UUIDField(),
        help_text=f"Subject letter (A, B, C1…) -> the cover record it speaks about (at most "
        f"{MAX_SUBJECTS}).",
    )


class StatementUpdateInputSerializer(StatementInputSerializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class StatementVersionInputSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class StatementNoteInputSerializer(StatementVersionInputSerializer):
    note = Text(max_length=facts.MAX_REASON_CHARS)


class StatementReasonInputSerializer(StatementVersionInputSerializer):
    reason = Text(max_length=facts.MAX_REASON_CHARS)


class StatementApproveInputSerializer(StatementVersionInputSerializer):
    cleared = serializers.ListField(
        child=Text(max_length=200),
        required=False,
        max_length=MAX_CLEARED,
        help_text="Words the blind index matched that are about someone else (a public "
        "figure, a common name); never true values of the people it speaks about.",
    )
    cleared_reason = Text(required=False, max_length=facts.MAX_REASON_CHARS)


class StatementListItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=STATEMENT_STATUSES)
    open = serializers.BooleanField(help_text="Everyone it speaks about is safe to speak about.")
    author = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class SubjectOutputSerializer(serializers.Serializer):
    handle = serializers.CharField()
    cover = serializers.UUIDField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    open = serializers.BooleanField()
    exists = serializers.BooleanField()


class RenderedOutputSerializer(serializers.Serializer):
    title = serializers.CharField()
    en = serializers.CharField(required=False)
    ko = serializers.CharField(required=False)
    zh = serializers.CharField(required=False)


class ReleasedOutputSerializer(serializers.Serializer):
    title = serializers.CharField()
    texts = LanguageValuesOutputSerializer()
    released_at = serializers.CharField(allow_null=True)


class StatementDetailSerializer(StatementListItemSerializer):
    texts = LanguageValuesOutputSerializer(help_text="As written, with references.")
    subjects = SubjectOutputSerializer(many=True)
    preview = RenderedOutputSerializer(help_text="References filled; closed subjects withheld.")
    missing = serializers.ListField(child=serializers.CharField())
    withheld_subjects = serializers.ListField(child=serializers.CharField())
    review_note = serializers.CharField(allow_blank=True)
    approved_by = serializers.IntegerField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    released = ReleasedOutputSerializer(allow_null=True)
    withheld = serializers.CharField(allow_blank=True)
    withdrawn_reason = serializers.CharField(allow_blank=True)


class HitOutputSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    check = serializers.ChoiceField(
        choices=HIT_SOURCES,
        help_text="truth: a true value of someone it speaks about; fingerprint: the same, "
        "found without their keys; index: someone else not yet safe, or a broker.",
    )
    language = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    phrase = serializers.CharField()


class BlockedErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["blocked"])
    detail = serializers.CharField()
    reason = serializers.ChoiceField(choices=["gate", "missing", "changed", "leak"])
    closed = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())
    hit_count = serializers.IntegerField()
    hits = HitOutputSerializer(
        many=True, help_text="What matched and where: for supervisors only (empty otherwise)."
    )


class WithheldErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["withheld"])
    detail = serializers.CharField()


class CoverFieldOutputSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=COVER_MODES)
    values = LanguageValuesOutputSerializer()
    reason = serializers.CharField(required=False, help_text="Supervisors only.")


def _fields_of(item: Any, name: str, *, required: bool = False) -> type[serializers.Serializer]:
    body: dict[str, Any] = {field_name: item(required=required) for field_name in facts.FIELDS} | {
        "__module__": __name__
    }
    base = StrictSerializer if issubclass(item, StrictSerializer) else serializers.Serializer
    return type(name, (base,), body)


class CoverFieldInputSerializer(StrictSerializer):
    mode = serializers.ChoiceField(
        choices=[("", ""), *COVER_MODES],
        help_text="cover: a value you choose; true: the true value (needs a reason); month, "
        "year: the true date coarsened; rounded: the true number rounded; empty: not published.",
    )
    values = LanguageValuesSerializer(required=False)
    reason = Text(required=False, max_length=facts.MAX_REASON_CHARS)


CoverFieldsOutputSerializer = _fields_of(CoverFieldOutputSerializer, "CoverFieldsOutputSerializer")
CoverFieldsInputSerializer = _fields_of(CoverFieldInputSerializer, "CoverFieldsInputSerializer")


class CoverOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=COVER_KINDS)
    open = serializers.BooleanField(
        help_text="Everyone it speaks about is safe; the values are shown only then (to the "
        "press office)."
    )
    fields = CoverFieldsOutputSerializer()  # type: ignore[assignment]


class CoverDetailOutputSerializer(CoverOutputSerializer):
    version = serializers.IntegerField()


class CoverInputSerializer(StrictSerializer):
    label = Text(max_length=facts.MAX_LABEL_CHARS)  # type: ignore[assignment]
    fields = CoverFieldsInputSerializer()  # type: ignore[assignment]


class CoverUpdateInputSerializer(CoverInputSerializer):
    version = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class OpeningInputSerializer(StrictSerializer):
    reason = Text(max_length=facts.MAX_REASON_CHARS)


class OpeningOutputSerializer(serializers.Serializer):
    state = serializers.CharField()
    opened_at = serializers.DateTimeField()
    opened_by = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    holds = serializers.BooleanField()


StatementPageSerializer = _page_of(StatementListItemSerializer, "StatementPageSerializer")
CoverPageSerializer = _page_of(CoverOutputSerializer, "CoverPageSerializer")

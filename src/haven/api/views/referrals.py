"""Consent per referral, and referrals: draft, approve, send, partner response, withdraw, packet."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from haven.api import serializers as s
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    lookup,
    page,
    require_case_reader,
    responses,
    validated,
    versioned,
)
from haven.cases.selectors import case_get, case_queryset
from haven.referrals.models import Consent, Referral
from haven.referrals.selectors import (
    consent_get,
    consent_queryset,
    consent_rows,
    partner_list,
    referral_detail,
    referral_get,
    referral_list,
    referral_packet,
)
from haven.referrals.services import (
    consent_record,
    consent_revoke,
    referral_approve,
    referral_attach_consent,
    referral_create,
    referral_respond,
    referral_send,
    referral_withdraw,
)
from haven.vault.sealed import payload_read

CONSENT_TAGS = ["consents"]
TAGS = ["referrals"]


def consent_item(consent: Consent, words: str) -> dict[str, Any]:
    return {
        "id": consent.pk,
        "case": consent.case_id,
        "partner": consent.partner_id,
        "purpose": consent.purpose,
        "fields": consent.fields,
        "method": consent.method,
        "given_at": consent.given_at,
        "recorded_by": consent.recorded_by_id,
        "revoked_at": consent.revoked_at,
        "revoked_by": consent.revoked_by_id,
        "valid": consent.is_valid,
        "words": words,
        "version": consent.version,
    }


def referral_out(request: Request, referral: Referral) -> dict[str, Any]:
    extra = referral_detail(ctx=ctx(request), user=actor(request), referral=referral)
    return {**s.ReferralOutputSerializer(referral).data, **extra}


class CaseConsentsApi(HavenApi):
    """Consents recorded for a case (the person's words decrypted, audited); record one."""

    InputSerializer = s.ConsentCreateInputSerializer
    OutputSerializer = s.ConsentOutputSerializer

    @extend_schema(
        tags=CONSENT_TAGS,
        summary="List a case's consents",
        responses=responses(s.ConsentPageSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        consents = consent_queryset(user=user, case=case_get(user=user, case_id=pk))

        def render(chunk: list[Consent]) -> list[dict[str, Any]]:
            rows = consent_rows(ctx=ctx(request), user=user, consents=chunk)
            return [consent_item(c, words) for c, words in rows]

        return page(request, self, consents, render, self.OutputSerializer)

    @extend_schema(
        tags=CONSENT_TAGS,
        summary="Record a consent",
        description="Which partner, which purpose, which fields, how it was given, when.",
        request=s.ConsentCreateInputSerializer,
        responses=responses(s.ConsentOutputSerializer, status=201, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        case = case_get(user=user, case_id=pk)
        data = validated(self.InputSerializer, request.data)
        partner = lookup(partner_list(), data.pop("partner"), field="partner", label="partner")
        consent = consent_record(ctx=ctx(request), actor=user, case=case, partner=partner, **data)
        words = payload_read(ctx=ctx(request), record=consent).get("words", "")
        return Response(self.OutputSerializer(consent_item(consent, words)).data, status=201)


class ConsentRevokeApi(HavenApi):
    """Revoke a consent: referrals resting on it can no longer be sent."""

    InputSerializer = s.VersionInputSerializer

    @extend_schema(
        tags=CONSENT_TAGS,
        summary="Revoke a consent",
        request=s.VersionInputSerializer,
        responses=versioned(s.ConsentOutputSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        consent = consent_get(user=user, consent_id=pk)
        data = validated(self.InputSerializer, request.data)
        consent_revoke(
            ctx=ctx(request), actor=user, consent=consent, expected_version=data["version"]
        )
        words = payload_read(ctx=ctx(request), record=consent).get("words", "")
        return Response(s.ConsentOutputSerializer(consent_item(consent, words)).data)


class ReferralListApi(HavenApi):
    """Referrals you may see (partner liaisons: those sent to their agency); draft one."""

    InputSerializer = s.ReferralCreateInputSerializer
    OutputSerializer = s.ReferralOutputSerializer

    @extend_schema(
        tags=TAGS,
        summary="List referrals",
        operation_id="referrals_list",
        responses=responses(s.ReferralPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        qs = referral_list(user=actor(request)).order_by("-created_at", "id")
        return page(request, self, qs, lambda chunk: chunk, self.OutputSerializer)

    @extend_schema(
        tags=TAGS,
        summary="Draft a referral",
        description="Names exactly which fields it discloses; it can be sent only when a "
        "valid consent covers partner, purpose and fields.",
        request=s.ReferralCreateInputSerializer,
        responses=responses(s.ReferralDetailOutputSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        user = actor(request)
        require_case_reader(user)
        data = validated(self.InputSerializer, request.data)
        case = lookup(case_queryset(user=user), data["case"], field="case", label="case")
        partner = lookup(partner_list(), data["partner"], field="partner", label="partner")
        consent = (
            lookup(
                Consent.objects.filter(case=case), data["consent"], field="consent", label="consent"
            )
            if data.get("consent")
            else None
        )
        referral = referral_create(
            ctx=ctx(request),
            actor=user,
            case=case,
            partner=partner,
            purpose=data["purpose"],
            disclosed_fields=data["disclosed_fields"],
            consent=consent,
            cover_note=data.get("cover_note", ""),
        )
        found = referral_get(user=user, referral_id=referral.pk)
        return Response(referral_out(request, found), status=201)


class ReferralDetailApi(HavenApi):
    """One referral with its cover note (the read is audited)."""

    @extend_schema(
        tags=TAGS,
        summary="Read a referral",
        responses=responses(s.ReferralDetailOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        referral = referral_get(user=actor(request), referral_id=pk)
        return Response(referral_out(request, referral))


class ReferralConsentApi(HavenApi):
    """Rest a draft or approved referral on a consent recorded for its case."""

    InputSerializer = s.ReferralConsentInputSerializer

    @extend_schema(
        tags=TAGS,
        summary="Attach a consent",
        request=s.ReferralConsentInputSerializer,
        responses=versioned(s.ReferralDetailOutputSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        require_case_reader(user)
        referral = referral_get(user=user, referral_id=pk)
        data = validated(self.InputSerializer, request.data)
        consent = lookup(
            Consent.objects.filter(case_id=referral.case_id),
            data["consent"],
            field="consent",
            label="consent",
        )
        referral_attach_consent(
            ctx=ctx(request),
            actor=user,
            referral=referral,
            expected_version=data["version"],
            consent=consent,
        )
        return Response(referral_out(request, referral_get(user=user, referral_id=pk)))


class _ReferralStepApi(HavenApi):
    """A status step on a referral, taking only the version."""

    InputSerializer: type[s.StrictSerializer] = s.VersionInputSerializer

    def step(self, request: Request, referral: Referral, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        referral = referral_get(user=user, referral_id=pk)
        data = validated(self.InputSerializer, request.data)
        self.step(request, referral, data)
        return Response(referral_out(request, referral_get(user=user, referral_id=pk)))


def _step_schema(summary: str) -> Any:
    return extend_schema(
        tags=TAGS,
        summary=summary,
        request=s.VersionInputSerializer,
        responses=versioned(s.ReferralDetailOutputSerializer),
    )


class ReferralApproveApi(_ReferralStepApi):
    """A supervisor approves a draft referral."""

    @_step_schema("Approve a referral")
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, referral: Referral, data: dict[str, Any]) -> None:
        referral_approve(
            ctx=ctx(request),
            actor=actor(request),
            referral=referral,
            expected_version=data["version"],
        )


class ReferralSendApi(_ReferralStepApi):
    """Send an approved referral; refused (400) unless a valid consent covers it."""

    @_step_schema("Send a referral")
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, referral: Referral, data: dict[str, Any]) -> None:
        referral_send(
            ctx=ctx(request),
            actor=actor(request),
            referral=referral,
            expected_version=data["version"],
        )


class ReferralRespondApi(_ReferralStepApi):
    """The partner acknowledges, accepts or declines (their liaison, or staff on their behalf)."""

    InputSerializer = s.ReferralRespondInputSerializer

    @extend_schema(
        summary="Record the partner's response",
        tags=TAGS,
        request=s.ReferralRespondInputSerializer,
        responses=versioned(s.ReferralDetailOutputSerializer),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, referral: Referral, data: dict[str, Any]) -> None:
        referral_respond(
            ctx=ctx(request),
            actor=actor(request),
            referral=referral,
            expected_version=data["version"],
            status=data["status"],
        )


class ReferralWithdrawApi(_ReferralStepApi):
    """Withdraw a referral before the partner decides."""

    @_step_schema("Withdraw a referral")
    def post(self, request: Request, pk: UUID) -> Response:
        return super().post(request, pk)

    def step(self, request: Request, referral: Referral, data: dict[str, Any]) -> None:
        referral_withdraw(
            ctx=ctx(request),
            actor=actor(request),
            referral=referral,
            expected_version=data["version"],
        )


class ReferralPacketApi(HavenApi):
    """What the partner receives: exactly the disclosed fields (the read is audited)."""

    @extend_schema(
        tags=TAGS,
        summary="Referral packet",
        responses=responses(s.ReferralPacketOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        referral = referral_get(user=user, referral_id=pk)
        packet = referral_packet(ctx=ctx(request), user=user, referral=referral)
        return Response(s.ReferralPacketOutputSerializer(packet).data)

"""Staff accounts (administrators), imports (supervisors), exports and printed case files.

The same services and rules as the pages and the ``haven`` commands. Changes to accounts need a
token obtained in the last few minutes (as grants do); a temporary password is in the answer
once and never again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from haven import access
from haven.accounts import selectors as account_selectors
from haven.accounts.models import Role, Team, User
from haven.accounts.services import (
    temporary_password_new,
    user_create,
    user_password_reset,
    user_update,
)
from haven.api.serializers import StrictSerializer, Text
from haven.api.views.base import (
    HavenApi,
    actor,
    ctx,
    page,
    require_recent_auth,
    responses,
    validated,
)
from haven.attachments.uploads import upload_refusals
from haven.cases import selectors as case_selectors
from haven.documents.case_file import case_file_pdf
from haven.exports import selectors as export_selectors
from haven.exports.tables import FORMATS
from haven.imports import selectors as import_selectors
from haven.imports import services as import_services
from haven.imports.columns import Options
from haven.imports.dates import DATE_ORDERS
from haven.imports.models import ImportBatch
from haven.validation import clean_text

_FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The file, as a download.")


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _file_answers(*media: str, read: bool = False) -> dict[Any, Any]:
    answer: dict[Any, Any] = dict(responses(_FILE, read=read, write=False, query=True))
    del answer[200]
    answer.update({(200, m): _FILE for m in media})
    return answer


# --- Staff accounts --------------------------------------------------------------------------


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    team = serializers.CharField(allow_null=True)
    partner = serializers.UUIDField(allow_null=True)
    is_active = serializers.BooleanField()
    two_factor = serializers.BooleanField(help_text="Whether an authenticator is enrolled.")
    password_change_required = serializers.BooleanField()
    last_login = serializers.DateTimeField(allow_null=True)


class UserPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = UserOutputSerializer(many=True)


class UserCreateInputSerializer(StrictSerializer):
    username = Text(max_length=150, allow_blank=False)
    role = serializers.ChoiceField(choices=Role.choices)
    team = Text(max_length=80, required=False, allow_null=True, help_text="Created if new.")
    first_name = Text(max_length=150, required=False)
    last_name = Text(max_length=150, required=False)


class UserUpdateInputSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    team = Text(max_length=80, required=False, allow_null=True, help_text="null: no team.")
    is_active = serializers.BooleanField(required=False)


class UserResetInputSerializer(StrictSerializer):
    confirm = Text(max_length=150, allow_blank=False, help_text="Their username, typed again.")
    reset_two_factor = serializers.BooleanField(required=False, default=False)


class TemporaryPasswordSerializer(serializers.Serializer):
    user = UserOutputSerializer()
    temporary_password = serializers.CharField(help_text="Shown once; they must replace it.")
    grants_lost = serializers.IntegerField(required=False)


def _user_item(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "team": user.team.name if user.team else None,
        "partner": user.partner_id,
        "is_active": user.is_active,
        "two_factor": bool(getattr(user, "two_factor", False)),
        "password_change_required": user.password_change_required,
        "last_login": user.last_login,
    }


def _team(name: Any) -> Team | None:
    if name is None:
        return None
    name = clean_text(name, field="team", max_length=80, required=True, multiline=False)
    return Team.objects.get_or_create(name=name)[0]


class UserListApi(HavenApi):
    """Staff accounts; administrators create new ones (a temporary password, shown once)."""

    @extend_schema(
        tags=["staff"],
        summary="List staff accounts",
        operation_id="users_list",
        responses=responses(UserPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        people = account_selectors.staff_list(user=actor(request))
        return page(
            request,
            self,
            people,
            lambda chunk: [_user_item(u) for u in chunk],
            UserOutputSerializer,
        )

    @extend_schema(
        tags=["staff"],
        summary="Create a staff account",
        request=UserCreateInputSerializer,
        responses=responses(TemporaryPasswordSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        user = actor(request)
        if not access.allowed(user, "user.manage"):
            raise PermissionDenied("Only administrators manage staff accounts.")
        data = validated(UserCreateInputSerializer, request.data)
        require_recent_auth(request)
        if data["role"] == Role.PARTNER_LIAISON:
            raise ValidationError(
                {"role": "Create partner liaisons on the staff pages (they need their agency)."}
            )
        password = temporary_password_new()
        with transaction.atomic():
            person = user_create(
                username=data["username"],
                password=password,
                role=data["role"],
                team=_team(data.get("team")),
                actor=user,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
        found = account_selectors.staff_get(user=user, user_id=person.pk)
        return Response({"user": _user_item(found), "temporary_password": password}, status=201)


class UserDetailApi(HavenApi):
    """One staff account: change their role, team or whether they may log in (never one's own)."""

    @extend_schema(
        tags=["staff"],
        summary="Read a staff account",
        responses=responses(UserOutputSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_user_item(account_selectors.staff_get(user=actor(request), user_id=pk)))

    @extend_schema(
        tags=["staff"],
        summary="Change a staff account",
        request=UserUpdateInputSerializer,
        responses=responses(UserOutputSerializer, read=True),
    )
    def put(self, request: Request, pk: int) -> Response:
        user = actor(request)
        person = account_selectors.staff_get(user=user, user_id=pk)
        data = validated(UserUpdateInputSerializer, request.data)
        require_recent_auth(request)
        with transaction.atomic():
            user_update(
                actor=user,
                user=person,
                role=data.get("role"),
                team=_team(data["team"]) if "team" in data else "",
                is_active=data.get("is_active"),
            )
        return Response(_user_item(account_selectors.staff_get(user=user, user_id=pk)))


class UserPasswordResetApi(HavenApi):
    """A new temporary password for someone who forgot theirs: they get a new key pair and
    lose access until a supervisor restores it. ``reset_two_factor`` also removes their
    authenticator (only if they lost it and their recovery codes)."""

    @extend_schema(
        tags=["staff"],
        summary="Reset a password",
        request=UserResetInputSerializer,
        responses=responses(TemporaryPasswordSerializer, read=True),
    )
    def post(self, request: Request, pk: int) -> Response:
        user = actor(request)
        person = account_selectors.staff_get(user=user, user_id=pk)
        data = validated(UserResetInputSerializer, request.data)
        if data["confirm"].strip() != person.username:
            raise ValidationError({"confirm": "Type their username to confirm the reset."})
        require_recent_auth(request)
        password = temporary_password_new()
        lost = user_password_reset(
            actor=user,
            user=person,
            new_password=password,
            reset_two_factor=data["reset_two_factor"],
        )
        found = account_selectors.staff_get(user=user, user_id=pk)
        return Response(
            {"user": _user_item(found), "temporary_password": password, "grants_lost": lost}
        )


# --- Imports -----------------------------------------------------------------------------------


class ImportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    rows_total = serializers.IntegerField()
    rows_valid = serializers.IntegerField()
    rows_invalid = serializers.IntegerField()
    requests_valid = serializers.IntegerField()
    duplicates_flagged = serializers.IntegerField()
    people_committed = serializers.IntegerField()
    requests_committed = serializers.IntegerField()
    requests_undone = serializers.IntegerField()
    requests_kept = serializers.IntegerField()
    version = serializers.IntegerField()


_IMPORT_FIELDS = tuple(name for name in ImportOutputSerializer._declared_fields if name != "id")


class ImportPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = ImportOutputSerializer(many=True)


class ImportReportSerializer(ImportOutputSerializer):
    mapping = serializers.DictField(child=serializers.CharField(allow_blank=True))
    problems = serializers.ListField(
        child=serializers.ListField(), help_text="[row, column, reason], the first 200."
    )
    duplicates = serializers.ListField(child=serializers.DictField())


class ImportUploadSerializer(StrictSerializer):
    file = serializers.FileField()
    date_order = serializers.ChoiceField(choices=DATE_ORDERS, required=False, default="dmy")
    default_country = serializers.CharField(max_length=2, required=False, default="")
    encoding = serializers.CharField(max_length=20, required=False, default="")
    sheet = serializers.CharField(max_length=31, required=False, default="")


class ImportCommitInputSerializer(StrictSerializer):
    skip_rows = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=200_000,
    )


class ImportUndoInputSerializer(StrictSerializer):
    force = serializers.BooleanField(required=False, default=False)


def _import_item(batch: ImportBatch) -> dict[str, Any]:
    return {name: getattr(batch, name) for name in _IMPORT_FIELDS} | {"id": batch.pk}


def _report(request: Request, batch: ImportBatch) -> dict[str, Any]:
    report = import_selectors.import_report(ctx=ctx(request), user=actor(request), batch=batch)
    return _import_item(batch) | {
        "mapping": report.mapping,
        "problems": report.errors,
        "duplicates": [
            {
                "row": d.row,
                "other_row": d.other_row,
                "case": d.case_id,
                "probability": d.probability,
            }
            for d in report.duplicates
        ],
    }


class ImportListApi(HavenApi):
    """Imports (supervisors). POST a CSV or XLSX file (multipart, field ``file``): the dry run.
    Nothing is loaded until ``commit``; the file is held in memory only."""

    parser_classes = [MultiPartParser, JSONParser]  # JSON: only to say the file is missing

    @extend_schema(
        tags=["imports"],
        summary="List imports",
        operation_id="imports_list",
        responses=responses(ImportPageSerializer, write=False),
    )
    def get(self, request: Request) -> Response:
        batches = import_selectors.import_list(user=actor(request))
        return page(
            request,
            self,
            batches,
            lambda chunk: [_import_item(b) for b in chunk],
            ImportOutputSerializer,
        )

    @extend_schema(
        tags=["imports"],
        summary="Check a spreadsheet (dry run)",
        request={"multipart/form-data": ImportUploadSerializer},
        responses=responses(ImportReportSerializer, status=201),
    )
    def post(self, request: Request) -> Response:
        user = actor(request)
        if not access.allowed(user, "import.run"):
            raise PermissionDenied("Only supervisors import spreadsheets.")
        if upload_refusals(request._request):
            raise ValidationError(
                {"file": "The file is too large, or more than one file was sent."}
            )
        data = validated(ImportUploadSerializer, request.data)
        upload = data["file"]
        staged = import_services.import_stage(
            ctx=ctx(request),
            actor=user,
            data=upload.read(),
            name=upload.name or "",
            encoding=data["encoding"],
            sheet=data["sheet"],
            options=Options(
                date_order=data["date_order"], default_country=data["default_country"].upper()
            ),
        )
        return Response(_report(request, staged.batch), status=201)


class ImportDetailApi(HavenApi):
    """One import: its counts, mapping, the first errors and the possible duplicates."""

    @extend_schema(
        tags=["imports"],
        summary="Read an import",
        responses=responses(ImportReportSerializer, read=True, write=False),
    )
    def get(self, request: Request, pk: UUID) -> Response:
        batch = import_selectors.import_get(user=actor(request), batch_id=pk)
        return Response(_report(request, batch))


class ImportCommitApi(HavenApi):
    """Load the rows that passed (or go on loading): a few seconds of chunks per call, each
    chunk in its own transaction; call again until ``status`` is ``committed``."""

    @extend_schema(
        tags=["imports"],
        summary="Load an import",
        request=ImportCommitInputSerializer,
        responses=responses(ImportOutputSerializer, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        batch = import_selectors.import_get(user=user, batch_id=pk)
        data = validated(ImportCommitInputSerializer, request.data)
        progress = import_services.import_commit(
            ctx=ctx(request), actor=user, batch=batch, skip_rows=data["skip_rows"], seconds=10.0
        )
        return Response(_import_item(progress.batch))


class ImportUndoApi(HavenApi):
    """Destroy what an import loaded (requests someone worked on since are kept unless
    ``force``)."""

    @extend_schema(
        tags=["imports"],
        summary="Undo an import",
        request=ImportUndoInputSerializer,
        responses=responses(ImportOutputSerializer, read=True),
    )
    def post(self, request: Request, pk: UUID) -> Response:
        user = actor(request)
        batch = import_selectors.import_get(user=user, batch_id=pk)
        data = validated(ImportUndoInputSerializer, request.data)
        require_recent_auth(request)
        import_services.import_undo(actor=user, batch=batch, force=data["force"])
        batch.refresh_from_db()
        return Response(_import_item(batch))


# --- Exports and printing ----------------------------------------------------------------------

_AS = OpenApiParameter("as", str, enum=list(FORMATS), description="csv (default) or xlsx")


class CaseExportQuerySerializer(StrictSerializer):
    state = serializers.CharField(required=False, max_length=20)
    country = serializers.CharField(required=False, max_length=2)


class CaseExportApi(HavenApi):
    """The case list as CSV or XLSX (supervisors; only the cases you may open; formula-safe;
    audited with every case's id)."""

    @extend_schema(
        tags=["exports"],
        summary="Export the case list",
        parameters=[_AS, OpenApiParameter("state", str), OpenApiParameter("country", str)],
        responses=_file_answers(
            "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        user = actor(request)
        if not access.allowed(user, "case.export"):
            raise PermissionDenied("Only supervisors export the case list.")
        fmt = request.query_params.get("as", "csv")
        cases = case_selectors.case_list(
            user=user,
            state=request.query_params.get("state") or None,
            country=(request.query_params.get("country") or "").upper() or None,
        )
        export = export_selectors.case_export(ctx=ctx(request), user=user, cases=cases, fmt=fmt)
        return _download(export.content, export.content_type, export.filename)


class AuditExportApi(HavenApi):
    """The audit trail as CSV or XLSX with readable action names (auditors; audited)."""

    @extend_schema(
        tags=["exports"],
        summary="Export the audit trail",
        parameters=[_AS],
        responses=_file_answers(
            "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ),
    )
    def get(self, request: Request) -> HttpResponse:
        export = export_selectors.audit_export(
            user=actor(request), fmt=request.query_params.get("as", "csv")
        )
        return _download(export.content, export.content_type, export.filename)


class CasePrintApi(HavenApi):
    """A case's file as a PDF (person, journey, notes, referrals), marked with who printed it and
    when; ``lang`` en or ko. Audited."""

    @extend_schema(
        tags=["cases"],
        summary="Print a case file",
        parameters=[OpenApiParameter("lang", str, enum=["en", "ko"])],
        responses=_file_answers("application/pdf", read=True),
    )
    def get(self, request: Request, pk: UUID) -> HttpResponse:
        pdf = case_file_pdf(
            ctx=ctx(request),
            user=actor(request),
            case_id=pk,
            language=request.query_params.get("lang", "en"),
        )
        return _download(pdf, "application/pdf", f"case-{str(pk)[:8]}.pdf")

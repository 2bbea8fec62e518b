"""The request inbox, a request's page with triage, and recording a new request."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.attachments.selectors import attachment_rows
from haven.brokers.models import Broker
from haven.brokers.selectors import broker_details, broker_list, broker_rows
from haven.cases import selectors, services
from haven.cases.models import Request
from haven.errors import ConflictError
from haven.once import FIELD as ONCE_FIELD
from haven.once import AlreadyStoredError, once_token_check
from haven.portal.queue import (
    OPEN_AFTER_ANSWER,
    OPEN_AFTER_ANSWER_SECONDS,
    background_turn,
    machine_quiet,
    portal_queue_open,
    portal_queue_open_before_answer,
)
from haven.portal.selectors import queued_request_count
from haven.web import forms as f
from haven.web.after import after_response
from haven.web.views.common import (
    CONFLICT_MESSAGE,
    SENT_TWICE_MESSAGE,
    actor,
    ctx,
    paginate,
    query_without_page,
)


def queued_requests_open(request: HttpRequest, *, before: bool = True) -> int:
    """Open portal requests queued in a surge (haven.portal.queue) if this person can: with
    ``before``, the oldest before the page while few wait (the inbox: it appears at once), and
    a batch after its answer when the machine is quiet. Returns how many still wait (0 for
    people who cannot open them)."""
    user = actor(request)
    if not access.allowed(user, "request.triage"):
        return 0
    key_ctx = ctx(request)
    if before:
        waiting = portal_queue_open_before_answer(ctx=key_ctx, actor=user)
    else:
        waiting = queued_request_count()

    def open_in_background() -> None:
        with background_turn() as mine:
            if mine:
                portal_queue_open(
                    ctx=key_ctx,
                    actor=user,
                    limit=OPEN_AFTER_ANSWER,
                    seconds=OPEN_AFTER_ANSWER_SECONDS,
                )

    if waiting and machine_quiet():
        after_response(request, open_in_background)
    return waiting


@login_required
def request_inbox(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    waiting = queued_requests_open(request)
    form = f.RequestFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "status": data["status"] or None,
            "channel": data["channel"] or None,
            "urgency": data["urgency"],
            "owner": data["owner"] or None,
            "awaiting_reply": data["awaiting"],
        }
    qs = selectors.request_list(user=user, **filters)
    count: int | None = None
    if form.is_bound and form.errors:
        qs = qs.none()  # a filter that cannot be read lists nothing, never everything
    else:
        count = selectors.request_list_count(user=user, requests=qs, filters=filters)
    page = paginate(request, qs, count=count)
    rows = selectors.request_rows(ctx=ctx(request), user=user, requests=list(page.object_list))
    return render(
        request,
        "web/request_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query_without_page(request),
            "can_assign": access.allowed(user, "case.assign"),
            "assign_form": f.BulkAssignForm(),
            "queued": waiting,
        },
    )


@login_required
@require_POST
def requests_assign(request: HttpRequest) -> HttpResponse:
    """Intake's bulk assignment: every case of the requests ticked goes to one owner."""
    user = actor(request)
    access.require(access.allowed(user, "case.assign"))
    form = f.BulkAssignForm(request.POST, requests=request.POST.getlist("request_ids"))
    back = request.POST.get("next", "")
    target = back if back.startswith("/requests/") else reverse("web:requests")
    if not form.is_valid():
        messages.error(request, _("Tick the requests and choose who takes them."))
        return redirect(target)
    chosen = list(
        selectors.request_list(user=user).filter(pk__in=_uuids(form.cleaned_data["request_ids"]))
    )
    if not chosen:
        messages.error(request, _("None of the requests ticked can be assigned by you."))
        return redirect(target)
    try:
        moved = services.requests_assign(
            ctx=ctx(request), actor=user, requests=chosen, owner=form.cleaned_data["owner"]
        )
    except ConflictError:
        messages.error(request, CONFLICT_MESSAGE)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(cases)d case(s) of %(requests)d request(s) are now %(owner)s's.")
            % {
                "cases": moved,
                "requests": len(chosen),
                "owner": form.cleaned_data["owner"].username,
            },
        )
    return redirect(target)


def _uuids(values: list[str]) -> list[uuid.UUID]:
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def _request_page(
    request: HttpRequest,
    request_id: Any,
    *,
    triage: f.TriageForm | None = None,
    message_form: Any = None,
    status: int = 200,
) -> HttpResponse:
    from django.urls import reverse

    from haven.web.views.messages import conversation_context

    user = actor(request)
    record, data, rows = selectors.request_detail(
        ctx=ctx(request), user=user, request_id=request_id
    )
    can_triage = access.allowed(user, "request.triage")
    duplicates = _duplicates_context(request, record)
    if triage is None and can_triage:
        triage = f.TriageForm(
            initial={"version": record.version, "urgency": record.urgency},
            earlier=_earlier_requests(request, record, duplicates=duplicates.get("duplicates")),
        )
    broker_alias = ""
    if record.broker is not None:
        broker_alias = broker_details(ctx=ctx(request), broker=record.broker).get("alias", "")
    return render(
        request,
        "web/request_detail.html",
        {
            "record": record,
            "data": data,
            "rows": rows,
            "triage": triage if can_triage else None,
            "broker_alias": broker_alias,
            **conversation_context(
                key_ctx=ctx(request), user=user, record=record, form=message_form
            ),
            "message_action": reverse("web:request_message", args=[record.pk]),
            "attachments": attachment_rows(ctx=ctx(request), user=user, request=record),
            "can_open_original": access.allowed(user, "attachment.original"),
            **duplicates,
        },
        status=status,
    )


def _duplicates_context(request: HttpRequest, record: Request) -> dict[str, Any]:
    """Possible duplicates of the request's people, for intake's triage (see haven.dedupe)."""
    from haven.dedupe.selectors import (
        INLINE_CATCH_UP,
        encodings_catch_up,
        encodings_waiting_count,
        request_duplicates,
    )

    user = actor(request)
    if not access.allowed(user, "duplicate.read"):
        return {}
    key_ctx = ctx(request)
    duplicates = request_duplicates(
        ctx=key_ctx, user=user, request=record, catch_up=INLINE_CATCH_UP, only_if_complete=True
    )
    # Other people waiting for their encodings (the portal's): after the answer, not before it.
    waiting = encodings_waiting_count(ctx=key_ctx, user=user)
    if waiting:
        after_response(request, lambda: encodings_catch_up(ctx=key_ctx, user=user))
    return {
        "duplicates": duplicates,
        "duplicates_waiting": waiting,
        "show_duplicates": True,
        "can_decide": access.allowed(user, "duplicate.decide"),
        "back": request.path,
    }


EARLIER_SHOWN = 30


def _earlier_requests(
    request: HttpRequest, record: Request, *, duplicates: list[Any] | None = None
) -> list[tuple[str, str]]:
    """The requests this one may duplicate, as the triage form lists them: those whose people
    may be this one's (the duplicate pass), the same broker's, then the most recent; each
    labelled by date, channel and names, so that nobody pastes an id. ``duplicates``: the
    request's possible duplicates when the page has them already (the pass scores, decrypts
    names and writes an audit entry: once a page is enough)."""
    from haven.dedupe.selectors import request_duplicates

    user = actor(request)
    if duplicates is None and access.allowed(user, "duplicate.read"):
        duplicates = request_duplicates(ctx=ctx(request), user=user, request=record, catch_up=0)
    likely = [d.other.request_id for d in duplicates or []]
    others = selectors.request_list(user=user).exclude(pk=record.pk)
    ordered = list(others.filter(pk__in=likely))
    if record.broker_id is not None:
        ordered += list(others.filter(broker_id=record.broker_id).order_by("-received_at")[:10])
    ordered += list(others.order_by("-received_at")[:EARLIER_SHOWN])
    unique = list({r.pk: r for r in ordered}.values())[:EARLIER_SHOWN]
    rows = selectors.request_rows(ctx=ctx(request), user=user, requests=unique)
    return [
        (
            str(row.request.pk),
            " · ".join(
                part
                for part in (
                    f"{row.request.received_at:%Y-%m-%d}",
                    str(row.request.get_channel_display())
                    + (f" ({row.broker_alias})" if row.broker_alias else ""),
                    ", ".join(row.names) or "—",
                )
                if part
            ),
        )
        for row in rows
    ]


@login_required
def request_detail(request: HttpRequest, request_id: Any) -> HttpResponse:
    return _request_page(request, request_id)


@login_required
@require_POST
def request_triage(request: HttpRequest, request_id: Any) -> HttpResponse:
    user = actor(request)
    record = selectors.request_get(user=user, request_id=request_id)
    form = f.TriageForm(request.POST, earlier=_earlier_requests(request, record))
    if form.is_valid():
        duplicate_of = None
        if form.cleaned_data["duplicate_of"]:
            try:
                duplicate_of = selectors.request_get(
                    user=user, request_id=form.cleaned_data["duplicate_of"]
                )
            except Http404:
                form.add_error("duplicate_of", _("No request with this ID."))
        if form.is_valid():
            try:
                services.request_triage(
                    ctx=ctx(request),
                    actor=user,
                    request=record,
                    expected_version=form.cleaned_data["version"],
                    status=form.cleaned_data["status"],
                    urgency=form.cleaned_data["urgency"],
                    duplicate_of=duplicate_of,
                )
            except ValidationError as exc:
                f.add_service_errors(form, exc)
            except ConflictError:
                form.add_error(None, CONFLICT_MESSAGE)
            else:
                messages.success(request, _("The request was triaged."))
                return redirect("web:request", request_id=record.pk)
    return _request_page(request, request_id, triage=form, status=400)


def _person_forms(request: HttpRequest, count: int, *, bind: bool) -> list[f.PersonForm]:
    if bind:
        return [f.PersonForm(request.POST, prefix=f"p{i}") for i in range(count)]
    people = []
    for i in range(count):
        prefix = f"p{i}"
        initial = {
            name: request.POST.get(f"{prefix}-{name}")
            for name in f.PersonForm.base_fields
            if f"{prefix}-{name}" in request.POST
        }
        people.append(f.PersonForm(prefix=prefix, initial=initial))
    return people


def _people_count(request: HttpRequest) -> int:
    try:
        count = int(request.POST.get("people_count", "1"))
    except ValueError:
        return 1
    return max(1, min(count, services.MAX_PEOPLE_PER_REQUEST))


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    if not access.has_role(user, access.REQUEST_HANDLERS):
        raise PermissionDenied(_("Your role cannot record requests."))
    brokers = [
        (str(r.broker.pk), r.alias)
        for r in broker_rows(ctx=ctx(request), user=user, active_only=True)
    ]
    status = 200
    if request.method != "POST":
        form = f.RequestForm(brokers=brokers)
        people = _person_forms(request, 1, bind=False)
    elif "resize" in request.POST:
        # "Set number of people" without JavaScript: redraw with that many rows, input kept.
        count = _people_count(request)
        initial = {k: v for k, v in request.POST.items() if k in f.RequestForm.base_fields}
        initial["people_count"] = str(count)
        form = f.RequestForm(initial=initial, brokers=brokers)
        people = _person_forms(request, count, bind=False)
    else:
        form = f.RequestForm(request.POST, brokers=brokers)
        count = form.cleaned_data["people_count"] if form.is_valid() else _people_count(request)
        people = _person_forms(request, count, bind=True)
        people_ok = all([p.is_valid() for p in people])
        if form.is_valid() and people_ok:
            try:
                created = _create_request(request, form, people)
            except AlreadyStoredError:
                messages.info(request, SENT_TWICE_MESSAGE)
                return redirect("web:requests")
            if created is not None:
                messages.success(
                    request,
                    _("The request was recorded and %(n)d case(s) opened.") % {"n": len(people)},
                )
                return redirect("web:request", request_id=created.pk)
        status = 400
    return render(request, "web/request_new.html", {"form": form, "people": people}, status=status)


def _create_request(
    request: HttpRequest, form: f.RequestForm, people: list[f.PersonForm]
) -> Request | None:
    data = form.cleaned_data
    broker = None
    if data["broker"]:
        try:
            broker = broker_list(user=actor(request)).get(pk=data["broker"])
        except (Broker.DoesNotExist, ValidationError, ValueError):
            form.add_error("broker", _("Unknown broker."))
            return None
    try:
        return services.request_create(
            ctx=ctx(request),
            actor=actor(request),
            channel=data["channel"],
            people=[p.person_input() for p in people],
            account=data["account"],
            urgency=data["urgency"],
            broker=broker,
            contact=data["contact"],
            received_at=data["received_at"],
            country=data["country"],
            group_label=data["group_label"],
            owner=data["owner"],
            once=once_token_check(request.POST.get(ONCE_FIELD)),
        )
    except ValidationError as exc:
        for key, msgs in f.add_people_errors(people, exc):
            for message in msgs:
                form.add_error(key if key in form.fields else None, message)
        return None

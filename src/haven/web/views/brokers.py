"""Brokers: list, page with their derived record, create, edit, suspend and reinstate."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.brokers import selectors, services
from haven.brokers.models import Broker, BrokerCredential, BrokerStatus
from haven.cases.selectors import request_list
from haven.errors import ConflictError
from haven.web import forms as f
from haven.web.views.common import CONFLICT_MESSAGE, actor, ctx, paginate


def _get(request: HttpRequest, broker_id: Any) -> tuple[Broker, dict[str, Any], Any]:
    try:
        return selectors.broker_get(ctx=ctx(request), user=actor(request), broker_id=broker_id)
    except Broker.DoesNotExist as exc:
        raise Http404(_("No such broker.")) from exc


@login_required
def broker_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.broker_rows(ctx=ctx(request), user=actor(request), with_counts=True)
    return render(request, "web/broker_list.html", {"rows": rows})


@login_required
def broker_detail(request: HttpRequest, broker_id: Any) -> HttpResponse:
    user = actor(request)
    broker, details, record = _get(request, broker_id)
    # The broker's history reads as a history: newest first, whatever each request's urgency.
    page = paginate(
        request, request_list(user=user).filter(broker=broker).order_by("-received_at", "-pk")
    )
    return render(
        request,
        "web/broker_detail.html",
        {
            "broker": broker,
            "details": details,
            "record": record,
            "page": page,
            "can_suspend": access.allowed(user, "broker.suspend"),
            "can_issue": access.allowed(user, "broker.credential_issue"),
            "credential": BrokerCredential.objects.filter(broker=broker).first(),
        },
    )


@login_required
def broker_new(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    if not access.has_role(user, access.BROKER_READERS):
        raise PermissionDenied(_("Your role cannot register brokers."))
    form = f.BrokerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            broker = services.broker_create(ctx=ctx(request), actor=user, **form.cleaned_data)
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        else:
            messages.success(request, _("The broker was registered."))
            return redirect("web:broker", broker_id=broker.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/broker_form.html", {"form": form}, status=status)


@login_required
def broker_edit(request: HttpRequest, broker_id: Any) -> HttpResponse:
    user = actor(request)
    broker, details, _record = _get(request, broker_id)
    if request.method == "POST":
        form = f.BrokerEditForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            version = data.pop("version")
            try:
                services.broker_update(
                    ctx=ctx(request), actor=user, broker=broker, expected_version=version, **data
                )
            except ConflictError:
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                f.add_service_errors(form, exc)
            else:
                messages.success(request, _("The broker was saved."))
                return redirect("web:broker", broker_id=broker.pk)
        return render(request, "web/broker_form.html", {"form": form, "broker": broker}, status=400)
    form = f.BrokerEditForm(initial={**details, "version": broker.version})
    return render(request, "web/broker_form.html", {"form": form, "broker": broker})


@login_required
@require_POST
def broker_status(request: HttpRequest, broker_id: Any) -> HttpResponse:
    user = actor(request)
    broker, _details, _record = _get(request, broker_id)
    form = f.VersionForm(request.POST)
    status = request.POST.get("status", "")
    if not form.is_valid() or status not in BrokerStatus.values:
        messages.error(request, _("The form was incomplete; nothing was changed."))
        return redirect("web:broker", broker_id=broker.pk)
    try:
        services.broker_set_status(
            ctx=ctx(request),
            actor=user,
            broker=broker,
            expected_version=form.cleaned_data["version"],
            status=status,
        )
    except ConflictError:
        messages.error(
            request,
            _("Someone else changed this broker since you opened the page; nothing was saved."),
        )
    else:
        messages.success(request, _("The broker's status was changed."))
    return redirect("web:broker", broker_id=broker.pk)

"""Partner agencies: list, create, edit (supervisors and administrators)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from haven import access
from haven.errors import ConflictError
from haven.referrals import selectors, services
from haven.web import forms as f
from haven.web.views.common import CONFLICT_MESSAGE, actor


def _require_editor(request: HttpRequest) -> None:
    if not access.has_role(actor(request), access.PARTNER_EDITORS):
        raise PermissionDenied(_("Only supervisors and administrators manage partners."))


@login_required
def partner_list(request: HttpRequest) -> HttpResponse:
    access.require(access.allowed(actor(request), "partner.read"))
    return render(
        request,
        "web/partner_list.html",
        {
            "partners": selectors.partner_list(),
            "can_edit": access.has_role(actor(request), access.PARTNER_EDITORS),
        },
    )


@login_required
def partner_new(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = f.PartnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_create(actor=actor(request), **form.cleaned_data)
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        else:
            messages.success(request, _("The partner was added."))
            return redirect("web:partners")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/partner_form.html", {"form": form}, status=status)


@login_required
def partner_edit(request: HttpRequest, partner_id: Any) -> HttpResponse:
    _require_editor(request)
    partner = get_object_or_404(selectors.partner_list(), pk=partner_id)
    if request.method == "POST":
        form = f.PartnerEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.partner_update(
                    actor=actor(request),
                    partner=partner,
                    expected_version=data["version"],
                    name=data["name"],
                    country=data["country"],
                    active=data["active"],
                )
            except ConflictError:
                form.add_error(None, CONFLICT_MESSAGE)
            except ValidationError as exc:
                f.add_service_errors(form, exc)
            else:
                messages.success(request, _("The partner was saved."))
                return redirect("web:partners")
        return render(
            request, "web/partner_form.html", {"form": form, "partner": partner}, status=400
        )
    form = f.PartnerEditForm(
        initial={
            "name": partner.name,
            "country": partner.country,
            "active": partner.active,
            "version": partner.version,
        }
    )
    return render(request, "web/partner_form.html", {"form": form, "partner": partner})

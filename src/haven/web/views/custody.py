"""Key custody pages: who holds a case, granting and revoking, deleting, team keys, passwords."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from haven import access
from haven.accounts.models import Role, User
from haven.accounts.services import user_password_change
from haven.cases import selectors, services
from haven.errors import ConflictError
from haven.vault import holders as h
from haven.vault.models import Grant, TeamKey
from haven.vault.services import grants_restore, team_key_rotate, team_key_share
from haven.web import access_forms as af
from haven.web import forms as f
from haven.web.templatetags.haven_web import team_kind
from haven.web.views.common import actor, ctx, recent_password_required


@login_required
@require_POST
@recent_password_required
def case_grant(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    holders = h.access_holders(case.data_key_id)
    form = af.GrantForm(request.POST, candidates=af.grant_candidates(holders=holders, actor=user))
    if form.is_valid():
        try:
            services.case_grant(
                ctx=ctx(request), actor=user, case=case, holder=form.cleaned_data["user"]
            )
        except ValidationError as exc:
            f.add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s can now open this case.") % {"name": form.cleaned_data["user"]},
            )
            return redirect("web:case", case_id=case.pk)
    messages.error(request, " ".join(str(e) for e in form.errors.values()) or _("Not granted."))
    return redirect("web:case", case_id=case.pk)


@login_required
@require_POST
@recent_password_required
def case_revoke(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    form = af.RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whose access to revoke."))
        return redirect("web:case", case_id=case.pk)
    kind, pk = form.cleaned_data["holder"]
    try:
        holder: User | TeamKey = (
            User.objects.get(pk=int(pk)) if kind == "u" else TeamKey.objects.get(pk=pk)
        )
    except (User.DoesNotExist, TeamKey.DoesNotExist, ValueError, ValidationError):
        messages.error(request, _("Unknown holder."))
        return redirect("web:case", case_id=case.pk)
    try:
        services.case_revoke(
            ctx=ctx(request),
            actor=user,
            case=case,
            holder=holder,
            rotate=form.cleaned_data["rotate"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ConflictError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Access revoked."))
    return redirect("web:case", case_id=case.pk)


@login_required
@recent_password_required
def case_delete(request: HttpRequest, case_id: Any) -> HttpResponse:
    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    if user.role != Role.SUPERVISOR:
        raise PermissionDenied(_("Only supervisors delete cases."))
    form = af.DeleteForm(request.POST or None, initial={"version": case.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.case_delete(
                ctx=ctx(request),
                actor=user,
                case=case,
                expected_version=form.cleaned_data["version"],
            )
        except ConflictError:
            form.add_error(None, _("The case changed since you opened this page; look again."))
        else:
            messages.success(request, _("The case was deleted and its keys destroyed."))
            return redirect("web:cases")
    return render(
        request,
        "web/case_delete.html",
        {"case": case, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _require_supervisor(user: User) -> None:
    if not access.allowed(user, "keys.manage"):
        raise PermissionDenied(_("Only supervisors manage team keys."))


@login_required
def keys_page(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    _require_supervisor(user)
    held = ctx(request).holder_refs()
    pending = [
        {"user": person, "team_key": key, "can_share": key.ref in held}
        for person, key in h.pending_shares()
    ]
    lost = Grant.objects.filter(stale=True).values_list("user_id", flat=True).order_by()
    lost_counts: dict[int, int] = {}
    for user_id in lost:
        lost_counts[user_id] = lost_counts.get(user_id, 0) + 1
    people = {u.pk: u for u in User.objects.filter(pk__in=lost_counts)}
    due = [
        {"team_key": key, "can_rotate": key.ref in held}
        for key in TeamKey.objects.filter(active=True, rotation_due=True).select_related(
            "team", "partner"
        )
    ]
    return render(
        request,
        "web/keys.html",
        {
            "due": due,
            "pending": pending,
            "lost": [(people[pk], n) for pk, n in sorted(lost_counts.items())],
        },
    )


@login_required
@require_POST
@recent_password_required
def keys_share(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    _require_supervisor(user)
    form = af.ShareForm(request.POST)
    if form.is_valid():
        person = get_object_or_404(User, pk=form.cleaned_data["user"])
        team_key = get_object_or_404(TeamKey, pk=form.cleaned_data["team_key"], active=True)
        try:
            team_key_share(ctx=ctx(request), actor=user, team_key=team_key, user=person)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(
                request,
                _("%(name)s now holds the %(key)s key.")
                % {"name": person.username, "key": team_kind(team_key.kind)},
            )
    else:
        messages.error(request, _("Choose a person and a key."))
    return redirect("web:keys")


@login_required
@require_POST
@recent_password_required
def keys_rotate(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    _require_supervisor(user)
    form = af.RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a key."))
        return redirect("web:keys")
    team_key = get_object_or_404(TeamKey, pk=form.cleaned_data["team_key"], active=True)
    try:
        team_key_rotate(ctx=ctx(request), actor=user, team_key=team_key)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(
            request, _("The key was replaced; whoever left cannot open what is sealed from now on.")
        )
    return redirect("web:keys")


@login_required
@require_POST
@recent_password_required
def keys_restore(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    _require_supervisor(user)
    form = af.RestoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a person."))
        return redirect("web:keys")
    person = get_object_or_404(User, pk=form.cleaned_data["user"])
    try:
        restored, missing = grants_restore(ctx=ctx(request), actor=user, user=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("Restored %(n)d records to %(name)s.") % {"n": restored, "name": person.username}
        if missing:
            text += " " + _(
                "%(m)d you do not hold yourself: the recovery key can restore them "
                "(haven recover restore-access)."
            ) % {"m": missing}
        messages.success(request, text)
    return redirect("web:keys")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    form = af.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Through authenticate() so that django-axes counts wrong guesses here too.
        checked = authenticate(
            request, username=user.get_username(), password=form.cleaned_data["old_password"]
        )
        if checked is None or checked.pk != user.pk:
            form.add_error("old_password", _("Your current password is not right."))
            return render(request, "web/password_change.html", {"form": form}, status=400)
        try:
            user_password_change(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as exc:
            f.add_service_errors(form, exc, rename={"password": "new_password"})  # nosec B105  # form field names
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password was changed. Your access is unchanged."))
            return redirect("web:dashboard")
    return render(
        request,
        "web/password_change.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )

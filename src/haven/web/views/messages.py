"""Messages with a request's requester or broker, on the request and case pages; issuing a
broker's portal credential (shown once)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from haven import access
from haven.accounts.models import User
from haven.brokers.credentials import broker_credential_issue
from haven.brokers.models import Broker
from haven.brokers.selectors import broker_list
from haven.cases import selectors
from haven.cases.models import Request
from haven.crypto import KeyContext, MissingKeyError
from haven.messaging.selectors import conversation_of, message_list
from haven.messaging.services import MAX_BODY_CHARS, conversation_party_public_key, message_send
from haven.once import FIELD as ONCE_FIELD
from haven.once import AlreadyStoredError, once_token_check
from haven.web.views.common import SENT_TWICE_MESSAGE, actor, ctx


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def conversation_context(
    *, key_ctx: KeyContext, user: User, record: Request | None, form: MessageForm | None = None
) -> dict[str, Any]:
    """What the request and case pages show of the conversation (nothing if the person may
    not read messages or holds no key of the request)."""
    if record is None or not access.allowed(user, "message.read"):
        return {"conversation": None}
    try:
        views = message_list(ctx=key_ctx, user=user, request=record)
    except PermissionDenied:
        return {"conversation": None}
    conversation = conversation_of(record)
    party = conversation.party if conversation is not None else None
    if party is None:
        found = conversation_party_public_key(record)
        party = found[0] if found is not None else None
    return {
        "conversation": {
            "messages": views,
            "party": party,
            "can_send": party is not None and access.allowed(user, "message.send"),
            "form": form or MessageForm(),
        }
    }


def _send(request: HttpRequest, record: Request) -> tuple[bool, MessageForm]:
    user = actor(request)
    form = MessageForm(request.POST)
    if not access.allowed(user, "message.send"):
        raise PermissionDenied("Your role cannot send messages.")
    if form.is_valid():
        try:
            message_send(
                ctx=ctx(request),
                actor=user,
                request=record,
                body=form.cleaned_data["body"],
                once=once_token_check(request.POST.get(ONCE_FIELD)),
            )
        except AlreadyStoredError:
            messages.info(request, SENT_TWICE_MESSAGE)
            return True, form
        except ValidationError as exc:
            for field_messages in exc.message_dict.values():
                for m in field_messages:
                    form.add_error("body", m)
        except MissingKeyError:
            form.add_error(
                "body", _("You hold no key for this conversation; ask a supervisor to grant it.")
            )
        else:
            messages.success(request, _("The message was sent."))
            return True, form
    return False, form


@login_required
@require_POST
def request_message(request: HttpRequest, request_id: Any) -> HttpResponse:
    from haven.web.views.requests import _request_page

    user = actor(request)
    record = selectors.request_get(user=user, request_id=request_id)
    ok, form = _send(request, record)
    if ok:
        return redirect("web:request", request_id=record.pk)
    return _request_page(request, request_id, message_form=form, status=400)


@login_required
@require_POST
def case_message(request: HttpRequest, case_id: Any) -> HttpResponse:
    from haven.web.views.cases import _case_page

    user = actor(request)
    case = selectors.case_get(user=user, case_id=case_id)
    if case.request is None:
        messages.error(request, _("This case has no request to write on."))
        return redirect("web:case", case_id=case.pk)
    record = selectors.request_get(user=user, request_id=case.request_id)
    ok, form = _send(request, record)
    if ok:
        return redirect("web:case", case_id=case.pk)
    return _case_page(request, case_id, message_form=form, status=400)


@login_required
@require_POST
def broker_credential(request: HttpRequest, broker_id: Any) -> HttpResponse:
    """Issue a broker a new portal credential and show it once (never stored, never again)."""
    user = actor(request)
    try:
        broker = broker_list(user=user).get(pk=broker_id)
    except (Broker.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such broker.") from exc
    if not access.allowed(user, "broker.credential_issue"):
        raise PermissionDenied("Only supervisors issue broker credentials.")
    try:
        credential = broker_credential_issue(ctx=ctx(request), actor=user, broker=broker)
    except ValidationError as exc:
        for field_messages in exc.message_dict.values():
            for m in field_messages:
                messages.error(request, m)
        return redirect("web:broker", broker_id=broker.pk)
    response = render(
        request, "web/broker_credential.html", {"broker": broker, "credential": credential}
    )
    response.headers["Cache-Control"] = "no-store"
    return response

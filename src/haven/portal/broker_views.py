"""The broker's pages under the portal (``/portal/broker/…``): log in with the credential a
supervisor issued, file requests for one or several people, see the coarse status of one's own
requests and write to the caseworker.

Same rules as the rest of the portal (no JavaScript, no external assets, cross-site posts
refused, signed one-time form tokens). The only cookie is set after a successful login:
``haven_broker``, HttpOnly, SameSite=Strict, Secure with HTTPS, 30 minutes, holding a random
secret whose digest the server keeps beside the broker's key encrypted under it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from haven.brokers.credentials import (
    SESSION_LIFETIME,
    BrokerLogin,
    broker_session,
    credential_normalise,
)
from haven.brokers.credentials import (
    broker_login as login_check,
)
from haven.brokers.credentials import (
    broker_logout as logout_session,
)
from haven.cases.models import Request
from haven.portal import limits
from haven.portal.conversation import (
    broker_conversation,
    broker_message_add,
    broker_request,
    broker_requests,
)
from haven.portal.forms import (
    BrokerLoginForm,
    BrokerMessageForm,
    PeopleCountForm,
    RequestForm,
    form_token_check,
    form_token_new,
    people_count,
)
from haven.portal.services import (
    AlreadySubmittedError,
    PortalUnavailableError,
    Submission,
    broker_request_create,
    coarse_status,
)
from haven.portal.views import (
    _kind_error,
    _kind_message,
    _page,
    _try_again,
    portal_url,
    portal_view,
)

COOKIE = "haven_broker"


def _login(request: HttpRequest) -> BrokerLogin | None:
    return broker_session(request.COOKIES.get(COOKIE))


def _to_login(lang: str) -> HttpResponse:
    return HttpResponseRedirect(portal_url("broker_login", lang))


def _cookie_path() -> str:
    return portal_url("home", "ko")


def _broker_page(
    request: HttpRequest,
    template: str,
    context: dict[str, object],
    *,
    lang: str,
    page: str,
    status: int = 200,
) -> HttpResponse:
    context = {
        **context,
        "broker_home_url": portal_url("broker_home", lang),
        "broker_ask_url": portal_url("broker_ask", lang),
        "broker_request_url": portal_url("broker_request", lang),
        "broker_logout_url": portal_url("broker_logout", lang),
        "broker_login_url": portal_url("broker_login", lang),
    }
    return _page(request, template, context, lang=lang, page=page, status=status)


@portal_view("broker_login")
def broker_login(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method != "POST":
        form = BrokerLoginForm(initial={"token": form_token_new()})
        return _broker_page(
            request, "portal/broker_login.html", {"form": form}, lang=lang, page="broker_login"
        )
    form = BrokerLoginForm(request.POST)
    fresh = BrokerLoginForm(initial={"token": form_token_new()})

    def refuse(message: str) -> HttpResponse:
        return _broker_page(
            request,
            "portal/broker_login.html",
            {"form": fresh, "error": message},
            lang=lang,
            page="broker_login",
            status=400,
        )

    if not form.is_valid() or form_token_check(form.cleaned_data["token"]) is None:
        return refuse(_("Please type your access code again."))
    credential = credential_normalise(form.cleaned_data["credential"])
    if credential is None:
        return refuse(_("This is not an access code. Please check it and try again."))
    # Wrong codes are counted apart from the requesters' receipts, by the code's first
    # characters: a flood of wrong receipts, or of wrong codes, shuts no other broker out.
    bucket = limits.credential_bucket(credential)
    gate = limits.broker_failures.gate(bucket)
    if not gate.free:
        response = _kind_error(
            request,
            lang,
            status=429,
            title=_("Please try again later"),
            message=_(
                "Many wrong access codes that start like yours were tried in the last minutes. "
                "For your safety, please try again in %(minutes)d minutes."
            )
            % {"minutes": max(1, -(-gate.retry_after // 60))},
        )
        response.headers["Retry-After"] = str(max(60, gate.retry_after))
        return response
    result = login_check(credential)
    if result is None:
        limits.broker_failures.record(bucket)
        return refuse(_("This access code does not work. Please check it and try again."))
    _found, secret = result
    response = HttpResponseRedirect(portal_url("broker_home", lang))
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=_cookie_path(),
        secure=bool(settings.SESSION_COOKIE_SECURE),
        httponly=True,
        samesite="Strict",
    )
    return response


@portal_view("broker_home")
def broker_home(request: HttpRequest, lang: str) -> HttpResponse:
    login = _login(request)
    if login is None:
        return _to_login(lang)
    if request.method == "POST":
        return _kind_error(
            request, lang, status=405, title=_("Not here"), message=_("Please use the links.")
        )
    return _broker_page(
        request,
        "portal/broker_home.html",
        {"rows": broker_requests(login)},
        lang=lang,
        page="broker_home",
    )


def _request_page(
    request: HttpRequest,
    lang: str,
    login: BrokerLogin,
    record: Request,
    *,
    form: BrokerMessageForm | None = None,
    status: int = 200,
    sent: bool = False,
) -> HttpResponse:
    if form is None:
        form = BrokerMessageForm(initial={"token": form_token_new(), "request": record.pk})
    return _broker_page(
        request,
        "portal/broker_request.html",
        {
            "record": record,
            "status": coarse_status(record),
            "messages": broker_conversation(login, record) or [],
            "form": form,
            "sent": sent,
        },
        lang=lang,
        page="broker_home",
        status=status,
    )


def _not_found(request: HttpRequest, lang: str) -> HttpResponse:
    return _kind_error(
        request,
        lang,
        status=404,
        title=_("Not found"),
        message=_("There is no such request among yours."),
    )


@portal_view("broker_home")
def broker_request_page(request: HttpRequest, lang: str) -> HttpResponse:
    login = _login(request)
    if login is None:
        return _to_login(lang)
    if request.method != "POST":
        record = broker_request(login, request.GET.get("r", ""))
        if record is None:
            return _not_found(request, lang)
        return _request_page(request, lang, login, record, sent=request.GET.get("sent") == "1")
    form = BrokerMessageForm(request.POST)
    record = broker_request(login, request.POST.get("request", ""))
    if record is None:
        return _not_found(request, lang)
    token = form_token_check(request.POST.get("token"))
    if not form.is_valid() or token is None:
        if token is None:
            form.add_error(None, _("This page was open for a long time. Please send it again."))
        data = request.POST.copy()
        data["token"] = form_token_new()
        retry = BrokerMessageForm(data)
        retry.is_valid()
        for field, errors in form.errors.items():
            for error in errors:
                if error not in retry.errors.get(field, []):
                    retry.add_error(field if field != "__all__" else None, error)
        return _request_page(request, lang, login, record, form=retry, status=400)
    try:
        broker_message_add(login, record, form.cleaned_data["body"], form_token=token)
    except ValidationError as exc:
        form.add_error("body", _kind_message([m for ms in exc.message_dict.values() for m in ms]))
        return _request_page(request, lang, login, record, form=form, status=400)
    except AlreadySubmittedError:
        pass
    return HttpResponseRedirect(f"{portal_url('broker_request', lang)}?r={record.pk}&sent=1")


@portal_view("broker_ask")
def broker_ask(request: HttpRequest, lang: str) -> HttpResponse:
    login = _login(request)
    if login is None:
        return _to_login(lang)
    if request.method != "POST":
        count = people_count(request.GET.get("people", 1))
        form = _broker_form(count=count)
        form.initial = {"token": form_token_new()}
        return _ask_page(request, lang, form, count)
    if "show" in request.POST:
        # "Show" after choosing how many people: the rows redrawn, what was typed kept, nothing
        # stored or counted as a submission.
        count = people_count(request.POST.get("people_wanted", request.POST.get("people", 1)))
        names = {f"name_{i}" for i in range(count)}
        form = _broker_form(count=count)
        form.initial = {
            **{
                key: value
                for key, value in request.POST.items()
                if key in names or key in ("country", "region", "urgency", "account", "contact")
            },
            "token": form_token_new(),
        }
        return _ask_page(request, lang, form, count)
    if not limits.submissions.allow():
        return _try_again(request, lang)
    count = people_count(request.POST.get("people", 1))
    form = _broker_form(request.POST, count=count)
    token = form_token_check(request.POST.get("token"))
    if not form.is_valid() or token is None:
        if token is None:
            data = request.POST.copy()
            data["token"] = form_token_new()
            form = _broker_form(data, count=count)
            form.is_valid()
            form.add_error(None, _("This page was open for a long time. Please send it again."))
        return _ask_page(request, lang, form, count, status=400)
    cd = form.cleaned_data
    submission = Submission(
        names=[cd[f"name_{i}"] for i in range(count)],
        country=cd["country"],
        region=cd["region"],
        urgency=cd["urgency"],
        account=cd["account"],
        contact=cd["contact"],
    )
    try:
        record = broker_request_create(
            broker=login.broker,
            broker_public_key=login.key.public_key,
            submission=submission,
            form_token=token,
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, _kind_message(messages))
        return _ask_page(request, lang, form, count, status=400)
    except AlreadySubmittedError:
        return HttpResponseRedirect(portal_url("broker_home", lang))
    except PortalUnavailableError:
        return _kind_error(
            request,
            lang,
            status=503,
            title=_("We cannot receive requests right now"),
            message=_("Nothing was stored. Please try again later."),
        )
    return HttpResponseRedirect(f"{portal_url('broker_request', lang)}?r={record.pk}")


def _broker_form(*args: object, count: int) -> RequestForm:
    """The request form without file uploads (brokers send files through the caseworker)."""
    form = RequestForm(*args, count=count)
    form.fields.pop("attachments", None)
    return form


def _ask_page(
    request: HttpRequest, lang: str, form: RequestForm, count: int, *, status: int = 200
) -> HttpResponse:
    return _broker_page(
        request,
        "portal/broker_ask.html",
        {"form": form, "count_form": PeopleCountForm(initial={"people": count})},
        lang=lang,
        page="broker_ask",
        status=status,
    )


@portal_view("broker_login")
def broker_logout(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method != "POST":
        return _to_login(lang)
    logout_session(request.COOKIES.get(COOKIE))
    response = _to_login(lang)
    response.delete_cookie(COOKIE, path=_cookie_path(), samesite="Strict")
    return response

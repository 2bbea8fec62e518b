"""The requester portal's pages: no JavaScript, no cookie, no client data kept.

* **Language**: Korean at ``/portal/…``, English at ``/portal/en/…``, simplified Chinese at
  ``/portal/zh/…`` (:mod:`haven.portal.languages`); every page links to the same page in the
  other languages. No cookie, no Accept-Language guessing (a borrowed phone's
  language says nothing about its user).
* **Cross-site posts** (no CSRF cookie exists before a person needs one, and with
  ``Referrer-Policy: no-referrer`` browsers send ``Origin: null``): a POST is refused when the
  browser says it is not same-origin (``Sec-Fetch-Site``, sent by every current browser, Tor
  Browser included), or when it names another ``Origin``. Every form also carries a signed,
  timestamped one-time token (:func:`~haven.portal.forms.form_token_new`) that proves it was
  served by us in the last hours; a used request-form token is refused, so a refresh or a double
  click cannot file a request twice. There is no ambient credential for a forged post to abuse:
  the receipt is typed, never remembered by the browser.
* **Receipt**: shown once, in the answer to the POST that stored the request (never in a URL,
  a redirect, a log or the database). The page's only way on is "I have saved it", a POST that
  carries the receipt in a signed value for 30 minutes; it then shows the way on, without the
  receipt. Re-posting the request form shows "already received", without it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
    ValidationError,
)
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from haven.attachments.services import IncomingFile, too_large_message, too_much_message
from haven.attachments.uploads import TOO_LARGE, TOO_MANY, upload_refusals
from haven.portal import languages, limits
from haven.portal.conversation import RequesterPage, requester_message_add, requester_open
from haven.portal.forms import (
    ConfirmForm,
    MessageForm,
    PeopleCountForm,
    RequestForm,
    StatusForm,
    form_token_check,
    form_token_new,
    people_count,
)
from haven.portal.pow import pow_bits, pow_valid
from haven.portal.queue import portal_queue_wanted, portal_request_queue
from haven.portal.receipts import receipt_display, receipt_normalise
from haven.portal.services import (
    AlreadySubmittedError,
    PortalUnavailableError,
    Submission,
    form_token_used,
    portal_request_create,
    pow_token_spend,
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The request form alone may run the optional proof-of-work script (haven.portal.pow), served
# from this origin; everything works without it.
CSP_WITH_POW = CSP + "; script-src 'self'"
RECEIPT_SALT = "haven.portal.receipt"
RECEIPT_SHOWN_SECONDS = 30 * 60

View = Callable[..., HttpResponse]


def portal_url(name: str, lang: str) -> str:
    return reverse(f"portal:{languages.url_name(name, lang)}")


def _headers(response: HttpResponse, lang: str) -> HttpResponse:
    with_pow = getattr(response, "haven_pow_script", False)
    response.headers["Content-Security-Policy"] = CSP_WITH_POW if with_pow else CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = lang
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    lang: str,
    page: str | None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **context,
        "lang": lang,
        "home_url": portal_url("home", lang),
        "ask_url": portal_url("ask", lang),
        "status_url": portal_url("status", lang),
        # None: no language links (the receipt page must not offer a way off it).
        "switches": [
            {"url": portal_url(page, other.code), "label": other.label, "lang": other.code}
            for other in languages.others(lang)
        ]
        if page
        else [],
    }
    return render(request, template, context, status=status)


def _kind_error(
    request: HttpRequest, lang: str, *, status: int, title: str, message: str
) -> HttpResponse:
    return _page(
        request,
        "portal/message.html",
        {"title": title, "message": message},
        lang=lang,
        page="home",
        status=status,
    )


def _try_again(request: HttpRequest, lang: str) -> HttpResponse:
    response = _kind_error(
        request,
        lang,
        status=429,
        title=_("Please try again in a few minutes"),
        message=_(
            "Many people are using this page right now. Nothing was lost and nothing was "
            "stored from this attempt. Please wait a few minutes and try again."
        ),
    )
    response.headers["Retry-After"] = "120"
    return response


def _cross_site(request: HttpRequest) -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        ours = f"{request.scheme}://{request.get_host()}"
        trusted = set(settings.CSRF_TRUSTED_ORIGINS) | {ours}
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}" not in trusted
    return False


def portal_view(page: str | None) -> Callable[[View], View]:
    """Language, headers, size and cross-site checks for one portal page."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, lang: str = languages.DEFAULT.code, **kwargs: Any
        ) -> HttpResponse:
            lang = languages.known(lang)
            with translation.override(lang):
                if request.method not in ("GET", "HEAD", "POST"):
                    return _headers(HttpResponseNotAllowed(["GET", "POST"]), lang)
                response = _checked(request, view, lang, *args, **kwargs)
                return _headers(response, lang)

        return wrapper

    return decorate


def _checked(
    request: HttpRequest, view: View, lang: str, *args: Any, **kwargs: Any
) -> HttpResponse:
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        files = view.__name__ in FILE_VIEWS and request.content_type == "multipart/form-data"
        limit = settings.HAVEN_PORTAL_MAX_BODY_BYTES
        if files:  # the files' own limits, plus room for their multipart headers
            limit += settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES + FILE_OVERHEAD_BYTES
        if length < 0 or length > limit:
            return _files_too_big(request, lang) if files else _too_big(request, lang)
        if _cross_site(request):
            return _kind_error(
                request,
                lang,
                status=403,
                title=_("This form was sent from another website"),
                message=_(
                    "For your safety we only accept this form from our own pages. Nothing was "
                    "stored. Please open this site's address yourself and try again."
                ),
            )
        try:
            request.POST  # noqa: B018 - parse now, inside the limits
        except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
            return _too_big(request, lang)
        except MultiPartParserError:
            return _kind_error(
                request,
                lang,
                status=400,
                title=_("We could not read what your browser sent"),
                message=_("Nothing was stored. Please go back and send the form again."),
            )
        typed = sum(len(v) for values in request.POST.lists() for v in values[1])
        if typed > settings.HAVEN_PORTAL_MAX_BODY_BYTES:
            return _too_big(request, lang)
    return view(request, lang, *args, **kwargs)


# Pages whose form may carry files (haven.attachments), and the room allowed for their headers.
FILE_VIEWS = frozenset({"ask", "status_message"})
FILE_OVERHEAD_BYTES = 64_000


def _files_too_big(request: HttpRequest, lang: str) -> HttpResponse:
    return _kind_error(
        request,
        lang,
        status=413,
        title=_("What you sent is too large"),
        message=_(
            "Nothing was stored. Each file may be at most %(each)d MB, and all files together "
            "%(all)d MB. Please go back, choose smaller files or fewer of them, and send again."
        )
        % {
            "each": settings.HAVEN_ATTACHMENT_MAX_BYTES // 1_000_000,
            "all": settings.HAVEN_ATTACHMENT_MAX_TOTAL_BYTES // 1_000_000,
        },
    )


def _too_big(request: HttpRequest, lang: str) -> HttpResponse:
    return _kind_error(
        request,
        lang,
        status=413,
        title=_("What you sent is too long"),
        message=_("Nothing was stored. Please go back, shorten what you wrote and send it again."),
    )


# --- Pages -------------------------------------------------------------------------------------


@portal_view("home")
def home(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method == "POST":
        return HttpResponseNotAllowed(["GET"])
    return _page(request, "portal/home.html", {}, lang=lang, page="home")


@portal_view("ask")
def ask(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method != "POST":
        return _blank_ask_page(request, lang, people_count(request.GET.get("people", 1)))
    if "show" in request.POST:
        return _resized_ask_page(request, lang)
    if not limits.submissions.allow() and not _paid_for(request):
        return _try_again(request, lang)
    count = people_count(request.POST.get("people", 1))
    form = RequestForm(request.POST, request.FILES, count=count)
    token = form_token_check(request.POST.get("token"))
    refused = upload_refusals(request)
    if not form.is_valid() or token is None or refused:
        data = request.POST.copy()
        if token is None:
            data["token"] = form_token_new()
            form = RequestForm(data, count=count)
            form.is_valid()
            form.add_error(
                None,
                _(
                    "This page was open for a long time, so for your safety we need you to send "
                    "it again. Please check what you wrote and press Send."
                ),
            )
        _files_again(form, refused, sent=bool(request.FILES))
        return _ask_page(request, lang, form, count, status=400)
    cd = form.cleaned_data
    submission = Submission(
        names=[cd[f"name_{i}"] for i in range(count)],
        country=cd["country"],
        region=cd["region"],
        urgency=cd["urgency"],
        account=cd["account"],
        contact=cd["contact"],
        files=[IncomingFile(name=f.name or "", content=f.read()) for f in cd["attachments"]],
    )
    try:
        if portal_queue_wanted(has_files=bool(submission.files)):
            receipt = portal_request_queue(submission=submission, form_token=token)
        else:
            _request, receipt = portal_request_create(submission=submission, form_token=token)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, _kind_message(messages))
        _files_again(form, [], sent=bool(submission.files))
        return _ask_page(request, lang, form, count, status=400)
    except AlreadySubmittedError:
        return _kind_error(
            request,
            lang,
            status=200,
            title=_("We have already received this request"),
            message=_(
                "This form was sent before and the request is safely stored. For your safety its "
                "receipt number was shown only once and cannot be shown again. If you did not "
                "save it, you can send a new request."
            ),
        )
    except PortalUnavailableError:
        return _kind_error(
            request,
            lang,
            status=503,
            title=_("We cannot receive requests right now"),
            message=_("Nothing was stored. Please try again later."),
        )
    return _fresh_receipt_page(request, lang, receipt)


def _resized_ask_page(request: HttpRequest, lang: str) -> HttpResponse:
    """The "Show" button, pressed after choosing how many people: the form again with that many name rows
    and everything typed kept (without JavaScript the page cannot add rows itself). Nothing is
    stored or checked, so it costs no submission; files cannot be kept by a page."""
    count = people_count(request.POST.get("people_wanted", request.POST.get("people", 1)))
    names = {f"name_{i}" for i in range(count)}
    kept = {
        key: value
        for key, value in request.POST.items()
        if key in names or key in ("country", "region", "urgency", "account", "contact")
    }
    form = RequestForm(count=count, initial={**kept, "token": form_token_new()})
    refused = upload_refusals(request)
    if request.FILES or refused:
        _files_again(form, refused, sent=bool(request.FILES))
    return _ask_page(request, lang, form, count)


def _paid_for(request: HttpRequest) -> bool:
    """Past the submission limit, a solved proof-of-work for this form's token still gets in,
    up to the ceiling (haven.portal.pow)."""
    token = request.POST.get("token")
    if not isinstance(token, str) or not pow_valid(token=token, nonce=request.POST.get("pow")):
        return False
    # A solved token already used buys nothing, not even a place under the ceiling.
    fresh = form_token_check(token)
    if fresh is not None and form_token_used(form_token=fresh):
        return False
    return limits.paid_submissions.allow()


def _files_again(
    form: RequestForm | MessageForm, refused: list[tuple[str, str]], *, sent: bool
) -> None:
    """Say which files were dropped on arrival, and that files must be chosen again: a page
    cannot refill a file field, and nothing is kept until the request is sent."""
    messages: list[str] = []
    for reason, name in refused:
        if reason == TOO_LARGE:
            messages.append(too_large_message(name))
        elif reason == TOO_MANY:
            messages.append(
                _("Please send at most %(n)d files with one request.")
                % {"n": settings.HAVEN_ATTACHMENT_MAX_FILES}
            )
        else:
            messages.append(too_much_message())
    for message in dict.fromkeys(messages):
        form.add_error("attachments", message)
    if sent or refused:
        form.add_error(
            "attachments",
            _(
                "Your files were not sent and not kept. What you wrote is kept below: please "
                "choose your files again and press Send."
            ),
        )


def _kind_message(messages: list[str]) -> str:
    return _("Please check this: %(detail)s") % {"detail": " ".join(messages)}


def _ask_page(
    request: HttpRequest, lang: str, form: RequestForm, count: int, *, status: int = 200
) -> HttpResponse:
    bits = pow_bits()
    response = _page(
        request,
        "portal/ask.html",
        {
            "form": form,
            "count_form": PeopleCountForm(initial={"people": count}),
            "pow_bits": bits,
        },
        lang=lang,
        page="ask",
        status=status,
    )
    response.haven_pow_script = bits > 0  # type: ignore[attr-defined]
    return response


# The blank request form and the receipt page are the same for everyone but a token, a receipt
# and a signed state: each is rendered once per process for each language (and number of people,
# proof-of-work setting...), then served with its values put in their slots. Rendering them took
# more time than the rest of the request did, apart from the receipt's key derivation.
_PAGES_ONCE: dict[tuple[object, ...], tuple[bytes, int, bool]] = {}
_SLOT_SAFE = re.compile(r"[A-Za-z0-9_:\-]{1,400}")


def _page_once(
    key: tuple[object, ...], render_page: Callable[[], HttpResponse], fill: dict[str, str]
) -> HttpResponse:
    page = _PAGES_ONCE.get(key)
    if page is None:
        rendered = render_page()
        page = (
            rendered.content,
            rendered.status_code,
            getattr(rendered, "haven_pow_script", False),
        )
        if len(_PAGES_ONCE) < 256:  # bounded: 3 languages × 10 counts × a few settings
            _PAGES_ONCE[key] = page
    content, status, with_pow = page
    for slot, value in fill.items():
        # Signed tokens, receipts and signed states only: nothing that needs escaping in HTML.
        if not _SLOT_SAFE.fullmatch(value):
            raise ValueError("not a value a page slot can take")
        content = content.replace(slot.encode(), value.encode(), 1)
    response = HttpResponse(content, status=status)
    response.haven_pow_script = with_pow  # type: ignore[attr-defined]
    return response


@receiver(setting_changed)
def _forget_pages_once(**_kwargs: object) -> None:
    _PAGES_ONCE.clear()


_TOKEN_SLOT = "HAVEN-SLOT-TOKEN"  # noqa: S105  # nosec B105  # a placeholder, filled on every page
_RECEIPT_SLOT = "HAVEN-SLOT-RECEIPT"
_STATE_SLOT = "HAVEN-SLOT-STATE"


def _blank_ask_page(request: HttpRequest, lang: str, count: int) -> HttpResponse:
    bits = pow_bits()
    key = (
        "ask",
        lang,
        count,
        bits,
        settings.HAVEN_ATTACHMENT_MAX_FILES,
        settings.HAVEN_ATTACHMENT_MAX_BYTES,
        settings.STATIC_URL,
    )
    return _page_once(
        key,
        lambda: _ask_page(
            request, lang, RequestForm(count=count, initial={"token": _TOKEN_SLOT}), count
        ),
        {_TOKEN_SLOT: form_token_new()},
    )


def _fresh_receipt_page(request: HttpRequest, lang: str, receipt: str) -> HttpResponse:
    state = signing.dumps({"r": receipt}, salt=RECEIPT_SALT)
    return _page_once(
        ("receipt", lang, settings.STATIC_URL),
        lambda: _receipt_page(
            request, lang, _RECEIPT_SLOT, ConfirmForm(initial={"state": _STATE_SLOT})
        ),
        {_RECEIPT_SLOT: receipt_display(receipt), _STATE_SLOT: state},
    )


def _receipt_page(
    request: HttpRequest, lang: str, shown: str, form: ConfirmForm, *, status: int = 200
) -> HttpResponse:
    """The receipt page; ``shown`` is the receipt as displayed (:func:`receipt_display`)."""
    return _page(
        request,
        "portal/receipt.html",
        {
            "receipt": shown,
            "form": form,
            "confirm_url": portal_url("receipt", lang),
        },
        lang=lang,
        page=None,
        status=status,
    )


@portal_view(None)
def receipt_confirm(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method != "POST":
        return _page(request, "portal/saved.html", {"expired": True}, lang=lang, page="home")
    form = ConfirmForm(request.POST)
    try:
        receipt = signing.loads(
            request.POST.get("state", ""), salt=RECEIPT_SALT, max_age=RECEIPT_SHOWN_SECONDS
        )["r"]
    except (signing.BadSignature, KeyError, TypeError):
        return _page(request, "portal/saved.html", {"expired": True}, lang=lang, page="home")
    if not form.is_valid():
        return _receipt_page(request, lang, receipt_display(str(receipt)), form, status=400)
    return _page(request, "portal/saved.html", {"expired": False}, lang=lang, page="home")


@portal_view("status")
def status(request: HttpRequest, lang: str) -> HttpResponse:
    if request.method != "POST":
        form = StatusForm(initial={"token": form_token_new()})
        return _status_page(request, lang, form)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _status_page(request, lang, _fresh(form), status=400)
    if form_token_check(form.cleaned_data["token"]) is None:
        form = _fresh(form)
        form.add_error(None, _("This page was open for a long time. Please send it again."))
        return _status_page(request, lang, form, status=400)
    receipt = receipt_normalise(form.cleaned_data["receipt"])
    if receipt is None:
        form = _fresh(form, keep_receipt=True)
        form.add_error(
            "receipt",
            _("A receipt number has 20 digits, like 1234-5678-9012-3456-7890. Please check it."),
        )
        return _status_page(request, lang, form, status=400)
    gate = _receipt_gate(request, receipt)
    if gate is not None:
        return _status_wait(request, lang, receipt, gate)
    found = requester_open(receipt)
    if found is None:
        _wrong_receipt(receipt)
        form = _fresh(form)
        form.add_error(
            "receipt",
            _(
                "We could not find a request with this number. Please check each digit and try "
                "again."
            ),
        )
        if settings.HAVEN_PORTAL_QUEUE != "off":
            # Requests taken at a busy time are opened by staff later (haven.portal.queue). Said
            # whenever that can happen, never from the queue itself: whether it holds anything
            # would tell anyone who types a wrong number when requests arrive and staff work.
            form.add_error(
                "receipt",
                _(
                    "If you sent your request in the last hours at a busy time, it may not be "
                    "open yet: please try again later."
                ),
            )
        return _status_page(request, lang, form, status=400)
    return _conversation_page(request, lang, found, receipt)


def _conversation_page(
    request: HttpRequest,
    lang: str,
    found: RequesterPage,
    receipt: str,
    *,
    form: MessageForm | None = None,
    sent: bool = False,
    status: int = 200,
) -> HttpResponse:
    """The status and the conversation. The message form carries the receipt in a hidden
    field, so that sending needs no cookie and no URL holds it."""
    if form is None:
        form = MessageForm(initial={"token": form_token_new(), "receipt": receipt})
    return _page(
        request,
        "portal/status_result.html",
        {
            "found": found,
            "message_form": form,
            "message_url": portal_url("status_message", lang),
            "sent": sent,
        },
        lang=lang,
        page="status",
        status=status,
    )


def _receipt_again(request: HttpRequest, lang: str, message: str) -> HttpResponse:
    form = StatusForm(initial={"token": form_token_new()})
    form = _fresh(form)
    form.add_error(None, message)
    return _status_page(request, lang, form, status=400)


@portal_view("status")
def status_message(request: HttpRequest, lang: str) -> HttpResponse:
    """Send a message or details; the receipt comes back in the form's hidden field."""
    if request.method != "POST":
        return _status_page(request, lang, StatusForm(initial={"token": form_token_new()}))
    receipt = receipt_normalise(request.POST.get("receipt"))
    if receipt is None:
        return _receipt_again(
            request, lang, _("Please type your receipt number again to see your request.")
        )
    token = form_token_check(request.POST.get("token"))
    if token is None:
        return _receipt_again(
            request,
            lang,
            _(
                "This page was open for a long time, so for your safety please type your receipt "
                "number again. Nothing was sent."
            ),
        )
    form = MessageForm(request.POST, request.FILES)
    gate = _receipt_gate(request, receipt)
    if gate is not None:
        return _message_wait(request, lang, receipt, form, gate)
    refused = upload_refusals(request)
    if not form.is_valid() or refused:
        found = requester_open(receipt)
        if found is None:
            _wrong_receipt(receipt)
            return _receipt_again(request, lang, _("Please type your receipt number again."))
        _files_again(form, refused, sent=bool(request.FILES))
        return _conversation_page(request, lang, found, receipt, form=form, status=400)
    files = [
        IncomingFile(name=f.name or "", content=f.read()) for f in form.cleaned_data["attachments"]
    ]
    try:
        found = requester_message_add(
            receipt, form.cleaned_data["body"], form_token=token, files=files
        )
    except ValidationError as exc:
        found = requester_open(receipt)
        if found is None:
            _wrong_receipt(receipt)
            return _receipt_again(request, lang, _("Please type your receipt number again."))
        for field, messages in exc.message_dict.items():
            form.add_error(field if field == "attachments" else "body", _kind_message(messages))
        _files_again(form, [], sent=bool(files))
        return _conversation_page(request, lang, found, receipt, form=form, status=400)
    except AlreadySubmittedError:
        found = requester_open(receipt)
        if found is None:
            return _receipt_again(request, lang, _("Please type your receipt number again."))
        return _conversation_page(request, lang, found, receipt, sent=True)
    if found is None:
        _wrong_receipt(receipt)
        return _receipt_again(request, lang, _("Please type your receipt number again."))
    return _conversation_page(request, lang, found, receipt, sent=True)


def _fresh(form: StatusForm, *, keep_receipt: bool = False) -> StatusForm:
    """The status form again with a new token, keeping what was typed only when it was not a
    well-formed (possibly right) receipt."""
    data = {
        "token": form_token_new(),
        "receipt": form.data.get("receipt", "") if keep_receipt else "",
    }
    fresh = StatusForm(data)
    fresh.is_valid()
    fresh.errors.clear()
    for field, errors in form.errors.items():
        for error in errors:
            fresh.add_error(field if field != "__all__" else None, error)
    return fresh


def _status_page(
    request: HttpRequest, lang: str, form: StatusForm, *, status: int = 200, pow_bits: int = 0
) -> HttpResponse:
    response = _page(
        request,
        "portal/status.html",
        {"form": form, "pow_bits": pow_bits},
        lang=lang,
        page="status",
        status=status,
    )
    response.haven_pow_script = pow_bits > 0  # type: ignore[attr-defined]
    return response


# --- Receipt look-ups under a prefix that has seen many wrong tries (haven.portal.limits) --------


def _wrong_receipt(receipt: str) -> None:
    limits.receipt_failures.record(limits.receipt_bucket(receipt))


def _receipt_gate(request: HttpRequest, receipt: str) -> limits.Gate | None:
    """None when this look-up may go on; else what its prefix needs (a proof-of-work this post
    did not bring, or to wait)."""
    gate = limits.receipt_failures.gate(limits.receipt_bucket(receipt))
    if gate.free:
        return None
    if not gate.closed and _pow_paid(request, gate.bits):
        return None
    return gate


def _pow_paid(request: HttpRequest, bits: int) -> bool:
    """A proof-of-work of ``bits`` for this post's form token, spent now (a solution buys one
    look-up, once, in any process)."""
    token = request.POST.get("token")
    if not isinstance(token, str) or not pow_valid(
        token=token, nonce=request.POST.get("pow"), bits=bits
    ):
        return False
    fresh = form_token_check(token)
    return fresh is not None and pow_token_spend(form_token=fresh)


def _wait_message(gate: limits.Gate) -> str:
    minutes = max(1, -(-gate.retry_after // 60))
    if gate.closed:
        return _(
            "Many wrong receipt numbers that start like yours were tried in the last minutes. "
            "For your safety, please try again in %(minutes)d minutes. Nothing has changed in "
            "your request."
        ) % {"minutes": minutes}
    return _(
        "Many wrong receipt numbers that start like yours were tried in the last minutes, so "
        "for your safety this check takes longer now. If your browser runs JavaScript, press "
        "the button again and wait: it works for a moment first (up to a minute on a slow "
        "phone). If not, please try again in %(minutes)d minutes. Nothing has changed in your "
        "request."
    ) % {"minutes": minutes}


def _retry_after(response: HttpResponse, gate: limits.Gate) -> HttpResponse:
    response.headers["Retry-After"] = str(max(60, gate.retry_after))
    return response


def _status_wait(request: HttpRequest, lang: str, receipt: str, gate: limits.Gate) -> HttpResponse:
    """The status form again with the receipt as typed and a fresh token: a browser with
    JavaScript solves the proof-of-work for it, one without waits."""
    form = StatusForm({"token": form_token_new(), "receipt": receipt_display(receipt)})
    form.is_valid()
    form.add_error(None, _wait_message(gate))
    response = _status_page(request, lang, form, status=429, pow_bits=gate.bits)
    return _retry_after(response, gate)


def _message_wait(
    request: HttpRequest, lang: str, receipt: str, sent: MessageForm, gate: limits.Gate
) -> HttpResponse:
    """The message form again, with what was written and a fresh token (nothing was sent)."""
    body = sent.data.get("body", "")
    form = MessageForm(
        {
            "token": form_token_new(),
            "receipt": receipt,
            "body": body if isinstance(body, str) else "",
        }
    )
    form.is_valid()
    form.errors.clear()
    form.add_error(None, _wait_message(gate))
    if request.FILES or upload_refusals(request):
        form.add_error(
            "attachments",
            _(
                "Your files were not sent and not kept. What you wrote is kept below: please "
                "choose your files again and press Send."
            ),
        )
    response = _page(
        request,
        "portal/status_wait.html",
        {
            "message_form": form,
            "message_url": portal_url("status_message", lang),
            "pow_bits": gate.bits,
        },
        lang=lang,
        page="status",
        status=429,
    )
    response.haven_pow_script = gate.bits > 0  # type: ignore[attr-defined]
    return _retry_after(response, gate)

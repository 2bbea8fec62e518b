"""What every endpoint answers, for every role and situation, stated against the permission table.

Each endpoint (URL name + method, and for ``web:referral_action`` the action in the URL) is
described by what it touches (``kind``: the record named in its URL, or in its body with
``in_body``) and which actions of :data:`haven.access.PERMISSIONS` it needs:

* ``see``: any one of these lets a role see records of that kind at all. A role with none of them
  is told so, 403, whatever the id (which reveals nothing).
* ``do``: any one of these lets a role do this to a record it can see; otherwise 403.

A record the role could see in principle but holds no grant for ("other") and one that does not
exist ("none") get the same answer: 404, or 400 on the body field when the record is named in the
body. Anonymous callers are sent to log in (web) or get 401 (API). ``public`` endpoints answer
everyone alike.

:func:`expected` turns an entry into the answer for one role and situation; the matrix test
(``tests/test_access_matrix.py``) enumerates the URL conf and the OpenAPI schema and fails on any
endpoint this table does not list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from haven.access import PERMISSIONS
from haven.accounts.models import Role

# Answers.
OK = "ok"  # 2xx, or a redirect that is not to the login page
PASSED = "passed"  # a write past the access check: OK, or 400/409 for the deliberately bad body
UNKNOWN = "400"  # a record named in the body that the caller may not see: as if it did not exist
DENIED = "403"
HIDDEN = "404"
NOT_ALLOWED = "405"
LOGIN = "login"  # anonymous: 401 (API) or a redirect to the login page (web)

# Situations: the object named in the URL (or body) ...
OWN = "own"  # ... one the role holds a grant for (team A's case; the liaison's partner's referral)
OTHER = "other"  # ... another team's, held by nobody the caller is (another partner's referral)
NONE = "none"  # ... a random id
ANY = "any"  # brokers and partners are not per case: an existing one
NO_OBJECT = "-"

SITUATIONS: dict[str | None, tuple[str, ...]] = {
    "case": (OWN, OTHER, NONE),
    "request": (OWN, OTHER, NONE),
    "group": (OWN, OTHER, NONE),
    "referral": (OWN, OTHER, NONE),
    "consent": (OWN, OTHER, NONE),
    "attachment": (OWN, OTHER, NONE),
    "broker": (ANY, NONE),
    "partner": (ANY, NONE),
    "import": (ANY, NONE),
    "mapping": (ANY, NONE),
    "user": (ANY, NONE),
    "release": (ANY, NONE),
    None: (NO_OBJECT,),
}

# The principals of the matrix: every role, and nobody logged in.
ANONYMOUS = "anonymous"
ROLES: tuple[str, ...] = (ANONYMOUS, *Role.values)

Body = Callable[[Any, Any], dict[str, Any]]  # (world, id of the object in this situation) -> body


@dataclass(frozen=True)
class Endpoint:
    kind: str | None = None
    see: tuple[str, ...] = ()
    do: tuple[str, ...] = ()
    write: bool = False
    in_body: bool = False
    public: str | None = None
    not_allowed: bool = False  # the method is refused (405) to everyone logged in
    anonymous: str = LOGIN
    body: Body | None = None
    note: str = field(default="", compare=False)


def _may(role: str, actions: tuple[str, ...]) -> bool:
    return any(role in PERMISSIONS[action] for action in actions)


def expected(endpoint: Endpoint, role: str, situation: str) -> str:
    """The answer ``role`` must get from ``endpoint`` in ``situation``, by the permission table."""
    if endpoint.public is not None:
        return endpoint.public
    if role == ANONYMOUS:
        return endpoint.anonymous
    if endpoint.not_allowed:
        return NOT_ALLOWED
    gate = endpoint.see or endpoint.do
    if gate and not _may(role, gate):
        return DENIED
    if situation in (OTHER, NONE):
        return UNKNOWN if endpoint.in_body else HIDDEN
    if endpoint.do and not _may(role, endpoint.do):
        return DENIED
    return PASSED if endpoint.write else OK


# --- shorthands -------------------------------------------------------------------------------

STALE = 999_999  # a version no record has: an allowed write stops at 409 and changes nothing

ANYONE = Endpoint()  # any logged-in person
CASE = ("case.read",)
REQUEST = ("request.read",)
REFERRAL = ("referral.read", "referral.read_sent")
BROKER = ("broker.read",)
FILES = ("attachment.read",)


def read(kind: str | None, see: tuple[str, ...], do: tuple[str, ...] = ()) -> Endpoint:
    return Endpoint(kind=kind, see=see, do=do or see)


def write(
    kind: str | None,
    see: tuple[str, ...],
    do: tuple[str, ...] = (),
    body: Body | None = None,
    **kwargs: Any,
) -> Endpoint:
    return Endpoint(kind=kind, see=see, do=do or see, write=True, body=body, **kwargs)


def post_only(kind: str | None = None) -> Endpoint:
    """GET on an endpoint that only takes POST."""
    return Endpoint(kind=kind, not_allowed=True)


def _person(**overrides: Any) -> dict[str, Any]:
    data = {
        "name_hangul": "김선희",
        "name_romanized": "Kim Sun-hui",
        "sex": "female",
        "birth_value": "1990",
        "birth_precision": "year",
        "origin_region": "Sinuiju",
        "occupation": "restaurant_worker",
    }
    data.update(overrides)
    return data


# --- the web pages ----------------------------------------------------------------------------
# Keys: (URL name, method, variant). Forms are posted form-encoded; versions are stale so that an
# allowed change stops at the conflict check.

WEB: dict[tuple[str, str, str], Endpoint] = {
    # Logging in, out and the language switch are for everyone.
    ("set_language", "GET", ""): Endpoint(public=OK),
    ("set_language", "POST", ""): Endpoint(public=OK, body=lambda w, o: {"language": "ko"}),
    ("web:favicon", "GET", ""): Endpoint(public=OK),
    ("web:favicon", "POST", ""): Endpoint(public=NOT_ALLOWED),
    ("web:login", "GET", ""): Endpoint(public=OK),
    ("web:login", "POST", ""): Endpoint(public=OK, body=lambda w, o: {"username": "nobody"}),
    ("web:login_two_factor", "GET", ""): Endpoint(public=OK),
    ("web:login_two_factor", "POST", ""): Endpoint(public=OK, body=lambda w, o: {"code": "0"}),
    ("web:logout", "GET", ""): Endpoint(public=NOT_ALLOWED),
    ("web:logout", "POST", ""): Endpoint(public=OK),
    ("web:confirm_password", "GET", ""): ANYONE,
    ("web:confirm_password", "POST", ""): Endpoint(
        write=True, body=lambda w, o: {"password": "wrong"}
    ),
    ("web:password_change", "GET", ""): ANYONE,
    ("web:password_change", "POST", ""): Endpoint(
        write=True, body=lambda w, o: {"old_password": "wrong"}
    ),
    # Everyone lands on a home page; case roles get the dashboard.
    ("web:dashboard", "GET", ""): ANYONE,
    ("web:dashboard", "POST", ""): Endpoint(write=True),
    # Requests.
    ("web:requests", "GET", ""): read(None, REQUEST),
    ("web:requests", "POST", ""): write(None, REQUEST),
    ("web:request_new", "GET", ""): read(None, ("request.create",)),
    ("web:request_new", "POST", ""): write(None, ("request.create",), body=lambda w, o: {}),
    ("web:requests_assign", "GET", ""): post_only(),
    ("web:requests_assign", "POST", ""): write(
        None, REQUEST, ("case.assign",), body=lambda w, o: {"request_ids": [], "owner": ""}
    ),
    ("web:request", "GET", ""): read("request", REQUEST),
    ("web:request", "POST", ""): write("request", REQUEST),
    ("web:request_triage", "GET", ""): post_only("request"),
    ("web:request_triage", "POST", ""): write(
        "request",
        REQUEST,
        ("request.triage",),
        body=lambda w, o: {"version": STALE, "status": "triaged", "urgency": 3},
    ),
    # A request's files: the cleaned copy, and the original (evidence) for supervisors.
    ("web:attachment", "GET", ""): read("attachment", FILES),
    ("web:attachment", "POST", ""): Endpoint(kind="attachment", not_allowed=True),
    ("web:attachment_original", "GET", ""): read("attachment", FILES, ("attachment.original",)),
    ("web:attachment_original", "POST", ""): Endpoint(kind="attachment", not_allowed=True),
    # Cases.
    ("web:cases", "GET", ""): read(None, CASE),
    ("web:cases", "POST", ""): write(None, CASE),
    ("web:case", "GET", ""): read("case", CASE),
    ("web:case", "POST", ""): write("case", CASE),
    ("web:case_move", "GET", ""): post_only("case"),
    ("web:case_move", "POST", ""): write(
        "case",
        CASE,
        ("case.write",),
        body=lambda w, o: {"version": STALE, "to_state": "withdrawn"},
    ),
    ("web:case_note", "GET", ""): post_only("case"),
    ("web:case_note", "POST", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"text": "A note."}
    ),
    ("web:case_group_move", "GET", ""): post_only("case"),
    ("web:case_group_move", "POST", ""): write(
        "case",
        CASE,
        ("case.write",),
        body=lambda w, o: {"case_ids": [f"{o}:{STALE}"], "to_state": "withdrawn"},
    ),
    # What waits for the person (every role has a list, perhaps empty).
    ("web:notifications", "GET", ""): ANYONE,
    ("web:notifications", "POST", ""): Endpoint(write=True),
    # One search over people, groups, brokers and requests.
    ("web:search", "GET", ""): read(None, CASE),
    ("web:search", "POST", ""): write(None, CASE),
    # Groups: the list, a group's page, moving its members together.
    ("web:groups", "GET", ""): read(None, CASE),
    ("web:groups", "POST", ""): write(None, CASE),
    ("web:group", "GET", ""): read("group", CASE),
    ("web:group", "POST", ""): write("group", CASE),
    ("web:group_move", "GET", ""): post_only("group"),
    ("web:group_move", "POST", ""): write(
        "group",
        CASE,
        ("case.write",),
        body=lambda w, o: {
            "case_ids": [f"{c}:{STALE}" for c in w.group_members(o)],
            "to_state": "withdrawn",
        },
    ),
    ("web:case_edit", "GET", ""): read("case", CASE, ("case.write",)),
    ("web:case_edit", "POST", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"version": STALE, "urgency": 4}
    ),
    ("web:person_edit", "GET", ""): read("case", CASE, ("case.write",)),
    ("web:person_edit", "POST", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"version": STALE, **_person()}
    ),
    ("web:case_grant", "GET", ""): post_only("case"),
    ("web:case_grant", "POST", ""): write(
        "case", CASE, ("case.grant",), body=lambda w, o: {"user": w.users["carol"].pk}
    ),
    ("web:case_revoke", "GET", ""): post_only("case"),
    ("web:case_revoke", "POST", ""): write(
        "case",
        CASE,
        ("case.revoke",),
        body=lambda w, o: {"holder": f"u:{w.users['heidi'].pk}"},
    ),
    ("web:case_delete", "GET", ""): read("case", CASE, ("case.delete",)),
    ("web:case_delete", "POST", ""): write(
        "case",
        CASE,
        ("case.delete",),
        body=lambda w, o: {"version": STALE, "confirm": "DELETE"},
    ),
    ("web:referral_new", "GET", ""): read("case", CASE, ("case.write",)),
    ("web:referral_new", "POST", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"purpose": "relief"}
    ),
    # Team keys, retention and lockdown: supervisors.
    ("web:keys", "GET", ""): read(None, ("keys.manage",)),
    ("web:keys", "POST", ""): write(None, ("keys.manage",)),
    ("web:keys_share", "GET", ""): post_only(),
    ("web:keys_share", "POST", ""): write(None, ("keys.manage",), body=lambda w, o: {}),
    ("web:keys_restore", "GET", ""): post_only(),
    ("web:keys_restore", "POST", ""): write(None, ("keys.manage",), body=lambda w, o: {}),
    ("web:keys_rotate", "GET", ""): post_only(),
    ("web:keys_rotate", "POST", ""): write(None, ("keys.manage",), body=lambda w, o: {}),
    ("web:retention", "GET", ""): read(None, ("retention.read",)),
    ("web:retention", "POST", ""): write(None, ("retention.read",)),
    ("web:retention_hold", "GET", ""): post_only(),
    ("web:retention_hold", "POST", ""): write(
        "case",
        ("case.hold",),
        body=lambda w, o: {"case": str(o), "days": 30},
        note="the case is named in the body",
    ),
    ("web:lockdown", "GET", ""): read(None, ("lockdown.start",)),
    ("web:lockdown", "POST", ""): write(None, ("lockdown.start",)),
    ("web:lockdown_start", "GET", ""): post_only(),
    ("web:lockdown_start", "POST", ""): write(
        None, ("lockdown.start",), body=lambda w, o: {"drill": "on"}
    ),
    # Referrals: staff through the case, partner liaisons those sent to their partner.
    ("web:referrals", "GET", ""): read(None, REFERRAL),
    ("web:referrals", "POST", ""): write(None, REFERRAL),
    ("web:referral", "GET", ""): read("referral", REFERRAL),
    ("web:referral", "POST", ""): write("referral", REFERRAL),
    **{
        ("web:referral_action", "GET", action): post_only("referral")
        for action in (
            "submit",
            "approve",
            "return",
            "send",
            "withdraw",
            "respond",
            "revoke_consent",
            "consent",
            "unknown",
        )
    },
    ("web:referral_action", "POST", "approve"): write(
        "referral", REFERRAL, ("referral.approve",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "submit"): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "return"): write(
        "referral", REFERRAL, ("referral.approve",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "consent"): write(
        "referral",
        REFERRAL,
        ("case.write",),
        body=lambda w, o: {"version": STALE, "consent_method": "verbal", "consent_words": "yes"},
    ),
    ("web:referral_action", "POST", "send"): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "withdraw"): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "revoke_consent"): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("web:referral_action", "POST", "respond"): write(
        "referral",
        REFERRAL,
        ("referral.respond",),
        body=lambda w, o: {"version": STALE, "status": "acknowledged"},
    ),
    ("web:referral_action", "POST", "unknown"): write(
        "referral", REFERRAL, body=lambda w, o: {"version": STALE}
    ),
    # Brokers.
    ("web:brokers", "GET", ""): read(None, BROKER),
    ("web:brokers", "POST", ""): write(None, BROKER),
    ("web:broker_new", "GET", ""): read(None, ("broker.write",)),
    ("web:broker_new", "POST", ""): write(None, ("broker.write",), body=lambda w, o: {}),
    ("web:broker", "GET", ""): read("broker", BROKER),
    ("web:broker", "POST", ""): write("broker", BROKER),
    ("web:broker_edit", "GET", ""): read("broker", BROKER, ("broker.write",)),
    ("web:broker_edit", "POST", ""): write(
        "broker", BROKER, ("broker.write",), body=lambda w, o: {"version": STALE, "alias": "X"}
    ),
    ("web:broker_status", "GET", ""): post_only("broker"),
    ("web:broker_status", "POST", ""): write(
        "broker",
        BROKER,
        ("broker.suspend",),
        body=lambda w, o: {"version": STALE, "status": "suspended"},
    ),
    # Partner agencies.
    ("web:partners", "GET", ""): read(None, ("partner.read",)),
    ("web:partners", "POST", ""): write(None, ("partner.read",)),
    ("web:partner_new", "GET", ""): read(None, ("partner.edit",)),
    ("web:partner_new", "POST", ""): write(None, ("partner.edit",), body=lambda w, o: {}),
    ("web:partner_edit", "GET", ""): read("partner", ("partner.edit",)),
    ("web:partner_edit", "POST", ""): write(
        "partner",
        ("partner.edit",),
        body=lambda w, o: {"version": STALE, "name": "Renamed", "country": "KR"},
    ),
    # The audit trail (POST verifies the chain).
    ("web:audit", "GET", ""): read(None, ("audit.read",)),
    ("web:audit", "POST", ""): write(None, ("audit.read",)),
    ("web:audit_export", "GET", ""): read(None, ("audit.read",)),
    ("web:audit_export", "POST", ""): Endpoint(not_allowed=True),
    # The API's own pages outside the schema.
    ("api-docs", "GET", ""): ANYONE,
    ("api-docs", "POST", ""): Endpoint(write=True),
}


# --- the API ----------------------------------------------------------------------------------
# Keys: (URL name, method, ""). Bodies are JSON and valid in shape, so that validation (which may
# come before the role check) never hides a refusal; versions are stale.

API: dict[tuple[str, str, str], Endpoint] = {
    ("api-schema", "GET", ""): ANYONE,
    ("api-schema", "POST", ""): Endpoint(not_allowed=True),
    ("api-token", "POST", ""): Endpoint(public=UNKNOWN, body=lambda w, o: {}),
    ("api-token", "DELETE", ""): ANYONE,
    ("api-dashboard", "GET", ""): read(None, ("dashboard.read",)),
    # Requests.
    ("api-request-list", "GET", ""): read(None, REQUEST),
    ("api-request-list", "POST", ""): write(
        None,
        ("request.create",),
        body=lambda w, o: {
            "channel": "direct_line",
            "urgency": 3,
            "account": "We want to leave.",
            "people": [{**_person(), "aliases": []}],
        },
    ),
    ("api-request-detail", "GET", ""): read("request", REQUEST),
    ("api-request-triage", "POST", ""): write(
        "request",
        REQUEST,
        ("request.triage",),
        body=lambda w, o: {"version": STALE, "status": "triaged"},
    ),
    # A request's files.
    ("api-request-attachments", "GET", ""): read("request", REQUEST, FILES),
    ("api-attachment-download", "GET", ""): read("attachment", FILES),
    ("api-attachment-original", "GET", ""): read("attachment", FILES, ("attachment.original",)),
    # Cases.
    ("api-case-list", "GET", ""): read(None, CASE),
    ("api-case-detail", "GET", ""): read("case", CASE),
    ("api-case-detail", "PATCH", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"version": STALE, "urgency": 4}
    ),
    ("api-case-person", "PUT", ""): write(
        "case",
        CASE,
        ("case.write",),
        body=lambda w, o: {"version": STALE, **_person(), "aliases": []},
    ),
    ("api-case-transition", "POST", ""): write(
        "case",
        CASE,
        ("case.write",),
        body=lambda w, o: {"version": STALE, "to_state": "withdrawn"},
    ),
    ("api-case-notes", "GET", ""): read("case", CASE),
    ("api-case-notes", "POST", ""): write(
        "case", CASE, ("case.write",), body=lambda w, o: {"text": "A note."}
    ),
    ("api-case-allowed-transitions", "GET", ""): read("case", CASE),
    ("api-case-access", "GET", ""): read("case", CASE),
    ("api-case-grant", "POST", ""): write(
        "case", CASE, ("case.grant",), body=lambda w, o: {"user": w.users["carol"].pk}
    ),
    ("api-case-revoke", "POST", ""): write(
        "case", CASE, ("case.revoke",), body=lambda w, o: {"user": w.users["heidi"].pk}
    ),
    ("api-case-delete", "POST", ""): write(
        "case",
        CASE,
        ("case.delete",),
        body=lambda w, o: {"version": STALE, "confirm": "DELETE"},
    ),
    ("api-case-consents", "GET", ""): read("case", CASE),
    ("api-case-consents", "POST", ""): write(
        "case",
        CASE,
        ("case.write",),
        body=lambda w, o: {
            "partner": str(w.partner.pk),
            "purpose": "relief",
            "fields": ["sex"],
            "method": "verbal",
            "words": "Yes.",
        },
    ),
    ("api-consent-revoke", "POST", ""): write(
        "consent", CASE, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("api-group-transition", "POST", ""): write(
        "group",
        CASE,
        ("case.write",),
        body=lambda w, o: {
            "case_ids": [str(c) for c in w.group_members(o)],
            "versions": {str(c): STALE for c in w.group_members(o)},
            "to_state": "withdrawn",
        },
    ),
    # Brokers.
    ("api-broker-list", "GET", ""): read(None, BROKER),
    ("api-broker-list", "POST", ""): write(
        None, ("broker.write",), body=lambda w, o: {"alias": "Mr Kim"}
    ),
    ("api-broker-detail", "GET", ""): read("broker", BROKER),
    ("api-broker-detail", "PUT", ""): write(
        "broker", BROKER, ("broker.write",), body=lambda w, o: {"version": STALE, "alias": "X"}
    ),
    ("api-broker-status", "POST", ""): write(
        "broker",
        BROKER,
        ("broker.suspend",),
        body=lambda w, o: {"version": STALE, "status": "suspended"},
    ),
    # Partner agencies.
    ("api-partner-list", "GET", ""): read(None, ("partner.read",)),
    ("api-partner-list", "POST", ""): write(
        None, ("partner.edit",), body=lambda w, o: {"name": "New agency", "country": "TH"}
    ),
    ("api-partner-detail", "GET", ""): read("partner", ("partner.read",)),
    ("api-partner-detail", "PUT", ""): write(
        "partner",
        ("partner.read",),
        ("partner.edit",),
        body=lambda w, o: {"version": STALE, "name": "Renamed", "country": "KR", "active": True},
    ),
    # Referrals.
    ("api-referral-list", "GET", ""): read(None, REFERRAL),
    ("api-referral-list", "POST", ""): write(
        "case",
        CASE,
        ("case.write",),
        in_body=True,
        body=lambda w, o: {
            "case": str(o),
            "partner": str(w.partner.pk),
            "purpose": "relief",
            "disclosed_fields": ["sex"],
        },
        note="the case is named in the body",
    ),
    ("api-referral-detail", "GET", ""): read("referral", REFERRAL),
    ("api-referral-consent", "POST", ""): write(
        "referral",
        CASE,
        ("case.write",),
        body=lambda w, o: {"version": STALE, "consent": str(w.consent_of(o))},
    ),
    ("api-referral-approve", "POST", ""): write(
        "referral", REFERRAL, ("referral.approve",), body=lambda w, o: {"version": STALE}
    ),
    ("api-referral-send", "POST", ""): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("api-referral-respond", "POST", ""): write(
        "referral",
        REFERRAL,
        ("referral.respond",),
        body=lambda w, o: {"version": STALE, "status": "acknowledged"},
    ),
    ("api-referral-withdraw", "POST", ""): write(
        "referral", REFERRAL, ("case.write",), body=lambda w, o: {"version": STALE}
    ),
    ("api-referral-packet", "GET", ""): read("referral", REFERRAL),
}


# The requester portal: public pages, the same for everyone (staff gain nothing there).
for _lang in ("", "-en", "-zh-hans"):
    WEB.update(
        {
            (f"portal:home{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:home{_lang}", "POST", ""): Endpoint(public=NOT_ALLOWED),
            (f"portal:ask{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:ask{_lang}", "POST", ""): Endpoint(public=UNKNOWN),  # empty form: 400
            (f"portal:receipt{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:receipt{_lang}", "POST", ""): Endpoint(public=OK),  # "cannot be shown again"
            (f"portal:status{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:status{_lang}", "POST", ""): Endpoint(public=UNKNOWN),
        }
    )


# Messages with a request's requester or broker, and brokers' portal credentials.
WEB.update(
    {
        ("web:request_message", "GET", ""): post_only("request"),
        ("web:request_message", "POST", ""): write(
            "request", REQUEST, ("message.send",), body=lambda w, o: {"body": ""}
        ),
        ("web:case_message", "GET", ""): post_only("case"),
        ("web:case_message", "POST", ""): write(
            "case", CASE, ("message.send",), body=lambda w, o: {"body": ""}
        ),
        ("web:broker_credential", "GET", ""): post_only("broker"),
        ("web:broker_credential", "POST", ""): write(
            "broker", BROKER, ("broker.credential_issue",)
        ),
    }
)
API.update(
    {
        ("api-message-list", "GET", ""): read("request", REQUEST, ("message.read",)),
        ("api-message-send", "POST", ""): write(
            "request", REQUEST, ("message.send",), body=lambda w, o: {"body": "Hello."}
        ),
    }
)
# The portal's conversation page and the broker pages: the same for everyone (staff sessions
# open nothing there); without a broker's cookie every broker page leads to the broker login.
for _lang in ("", "-en", "-zh-hans"):
    WEB.update(
        {
            (f"portal:status_message{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:status_message{_lang}", "POST", ""): Endpoint(public=UNKNOWN),
            (f"portal:broker_login{_lang}", "GET", ""): Endpoint(public=OK),
            (f"portal:broker_login{_lang}", "POST", ""): Endpoint(public=UNKNOWN),
            **{
                (f"portal:{name}{_lang}", method, ""): Endpoint(public=OK)
                for name in ("broker_home", "broker_request", "broker_ask", "broker_logout")
                for method in ("GET", "POST")
            },
        }
    )


# Possible duplicates (haven.dedupe): a request's, deciding about a pair, the review queue.
_NO_CASE = "00000000-0000-4000-8000-000000000000"
WEB.update(
    {
        ("web:duplicates", "GET", ""): read(None, ("duplicate.review",)),
        ("web:duplicates", "POST", ""): Endpoint(not_allowed=True),
        ("web:duplicates_run", "GET", ""): post_only(),
        ("web:duplicates_run", "POST", ""): write(None, ("duplicate.run",)),
        ("web:case_duplicate_decide", "GET", ""): post_only("case"),
        ("web:case_duplicate_decide", "POST", ""): write(
            "case",
            CASE,
            ("duplicate.decide",),
            body=lambda w, o: {"other": _NO_CASE, "kind": "not_same"},
        ),
        ("web:case_duplicate_undo", "GET", ""): post_only("case"),
        ("web:case_duplicate_undo", "POST", ""): write(
            "case", CASE, ("duplicate.decide",), body=lambda w, o: {"decision": _NO_CASE}
        ),
    }
)
API.update(
    {
        ("api-request-duplicates", "GET", ""): read("request", REQUEST, ("duplicate.read",)),
        ("api-case-duplicate-decide", "POST", ""): write(
            "case",
            CASE,
            ("duplicate.decide",),
            body=lambda w, o: {"other": _NO_CASE, "kind": "not_same"},
        ),
    }
)


# Importing spreadsheets (supervisors), staff accounts (administrators), exports and printing.
IMPORT = ("import.run",)
USERS = ("user.manage",)
WEB.update(
    {
        ("web:imports", "GET", ""): read(None, IMPORT),
        ("web:imports", "POST", ""): write(None, IMPORT, body=lambda w, o: {}),
        ("web:import", "GET", ""): read("import", IMPORT),
        ("web:import", "POST", ""): Endpoint(kind="import", not_allowed=True),
        ("web:import_remap", "GET", ""): post_only("import"),
        ("web:import_remap", "POST", ""): write(
            "import", IMPORT, body=lambda w, o: {"version": STALE}
        ),
        ("web:import_commit", "GET", ""): post_only("import"),
        ("web:import_commit", "POST", ""): write(
            "import", IMPORT, body=lambda w, o: {"version": STALE}
        ),
        ("web:import_progress", "GET", ""): read("import", IMPORT),
        ("web:import_progress", "POST", ""): Endpoint(kind="import", not_allowed=True),
        ("web:import_bad_rows", "GET", "csv"): read("import", IMPORT),
        ("web:import_bad_rows", "POST", "csv"): Endpoint(kind="import", not_allowed=True),
        ("web:import_undo", "GET", ""): read("import", IMPORT),
        ("web:import_undo", "POST", ""): write("import", IMPORT, body=lambda w, o: {}),
        ("web:import_discard", "GET", ""): post_only("import"),
        ("web:import_discard", "POST", ""): write("import", IMPORT),
        ("web:import_mapping_delete", "GET", ""): post_only("mapping"),
        ("web:import_mapping_delete", "POST", ""): write("mapping", IMPORT),
        ("web:staff", "GET", ""): read(None, USERS),
        ("web:staff", "POST", ""): Endpoint(not_allowed=True),
        ("web:staff_new", "GET", ""): read(None, USERS),
        ("web:staff_new", "POST", ""): write(None, USERS, body=lambda w, o: {}),
        ("web:staff_member", "GET", ""): read("user", USERS),
        ("web:staff_member", "POST", ""): Endpoint(kind="user", not_allowed=True),
        ("web:staff_change", "GET", ""): post_only("user"),
        ("web:staff_change", "POST", ""): write(
            "user", USERS, body=lambda w, o: {"role": "nonsense"}
        ),
        ("web:staff_active", "GET", ""): post_only("user"),
        ("web:staff_active", "POST", ""): write("user", USERS, body=lambda w, o: {"active": "x"}),
        ("web:staff_reset", "GET", ""): post_only("user"),
        ("web:staff_reset", "POST", ""): write(
            "user", USERS, body=lambda w, o: {"confirm": "not their name"}
        ),
        ("web:case_export", "GET", "csv"): read(None, ("case.export",)),
        ("web:case_export", "POST", "csv"): Endpoint(not_allowed=True),
        ("web:audit_export", "GET", "csv"): read(None, ("audit.export",)),
        ("web:audit_export", "POST", "csv"): Endpoint(not_allowed=True),
        ("web:case_print", "GET", ""): read("case", CASE, ("case.print",)),
        ("web:case_print", "POST", ""): Endpoint(kind="case", not_allowed=True),
    }
)

API.update(
    {
        ("api-user-list", "GET", ""): read(None, USERS),
        ("api-user-list", "POST", ""): write(
            None, USERS, body=lambda w, o: {"username": "", "role": "caseworker"}
        ),
        ("api-user-detail", "GET", ""): read("user", USERS),
        ("api-user-detail", "PUT", ""): write("user", USERS, body=lambda w, o: {"role": "emperor"}),
        ("api-user-reset-password", "POST", ""): write(
            "user", USERS, body=lambda w, o: {"confirm": "not their name"}
        ),
        ("api-import-list", "GET", ""): read(None, IMPORT),
        ("api-import-list", "POST", ""): write(None, IMPORT, body=lambda w, o: {}),
        ("api-import-detail", "GET", ""): read("import", IMPORT),
        ("api-import-commit", "POST", ""): write(
            "import", IMPORT, body=lambda w, o: {"skip_rows": [0]}
        ),
        ("api-import-undo", "POST", ""): write("import", IMPORT, body=lambda w, o: {"force": 1.5}),
        ("api-case-export", "GET", ""): read(None, ("case.export",)),
        ("api-audit-export", "GET", ""): read(None, ("audit.export",)),
        ("api-case-print", "GET", ""): read("case", CASE, ("case.print",)),
    }
)

# Statistics: press officers and supervisors read and prepare; a supervisor (not whoever
# prepared it) approves; where cases stand now is supervisors' only. The matrix's release is a
# published one, so the stale version stops an approval at the conflict check.
STATS = ("stats.read",)
WEB.update(
    {
        ("web:stats", "GET", ""): read(None, STATS),
        ("web:stats", "POST", ""): Endpoint(not_allowed=True),
        ("web:stats_now", "GET", ""): read(None, ("stats.internal",)),
        ("web:stats_now", "POST", ""): Endpoint(not_allowed=True),
        ("web:stats_count_missing", "GET", ""): post_only(),
        ("web:stats_count_missing", "POST", ""): write(
            None, ("stats.internal",), body=lambda w, o: {}
        ),
        ("web:stats_releases", "GET", ""): read(None, STATS),
        ("web:stats_releases", "POST", ""): write(
            None, STATS, ("stats.prepare",), body=lambda w, o: {}
        ),
        ("web:stats_release", "GET", ""): read("release", STATS),
        ("web:stats_release", "POST", ""): Endpoint(kind="release", not_allowed=True),
        ("web:stats_release_approve", "GET", ""): post_only("release"),
        ("web:stats_release_approve", "POST", ""): write(
            "release", STATS, ("stats.approve",), body=lambda w, o: {"version": STALE}
        ),
        ("web:stats_release_discard", "GET", ""): post_only("release"),
        ("web:stats_release_discard", "POST", ""): write(
            "release", STATS, ("stats.prepare",), body=lambda w, o: {"version": STALE}
        ),
        ("web:stats_release_export", "GET", ""): read("release", STATS),
        ("web:stats_release_export", "POST", ""): Endpoint(kind="release", not_allowed=True),
    }
)

# Speaking in public (haven.disclosure): cover records and statements for the press office and
# supervisors; cover values and openings on a case or group for supervisors holding it.
SITUATIONS["statement"] = (ANY, NONE)
SITUATIONS["cover"] = (ANY, NONE)
STATEMENT = ("statement.read",)
COVERS = ("cover.read",)
_STATEMENT_BODY: Body = lambda w, o: {  # noqa: E731
    "title": "A statement",
    "texts": {"en": "Three people arrived."},
    "subjects": {},
}
_COVER_BODY: Body = lambda w, o: {"label": "", "fields": {}}  # noqa: E731
_STEPS = {
    "submit": (("statement.write",), lambda w, o: {"version": STALE}),
    "return": (("statement.approve",), lambda w, o: {"version": STALE, "note": "Shorter."}),
    "approve": (("statement.approve",), lambda w, o: {"version": STALE}),
    "release": (("statement.release",), lambda w, o: {"version": STALE}),
    "withdraw": (("statement.withdraw",), lambda w, o: {"version": STALE, "reason": "Asked."}),
}
WEB.update(
    {
        ("web:covers", "GET", ""): read(None, COVERS),
        ("web:covers", "POST", ""): write(None, COVERS),
        ("web:cover", "GET", ""): read("cover", COVERS),
        ("web:cover", "POST", ""): write("cover", COVERS),
        ("web:case_cover", "GET", ""): read("case", CASE, ("cover.write",)),
        ("web:case_cover", "POST", ""): write(
            "case", CASE, ("cover.write",), body=lambda w, o: {"label": ""}
        ),
        ("web:group_cover", "GET", ""): read("case", CASE, ("cover.write",)),
        ("web:group_cover", "POST", ""): write(
            "case", CASE, ("cover.write",), body=lambda w, o: {"label": ""}
        ),
        ("web:case_opening", "GET", ""): post_only("case"),
        ("web:case_opening", "POST", ""): write(
            "case", CASE, ("disclosure.open",), body=lambda w, o: {"reason": "Asked."}
        ),
        ("web:statements", "GET", ""): read(None, STATEMENT),
        ("web:statements", "POST", ""): write(None, STATEMENT),
        ("web:statement_new", "GET", ""): read(None, ("statement.write",)),
        ("web:statement_new", "POST", ""): write(None, ("statement.write",), body=lambda w, o: {}),
        ("web:statement", "GET", ""): read("statement", STATEMENT),
        ("web:statement", "POST", ""): write("statement", STATEMENT),
        ("web:statement_edit", "GET", ""): read("statement", STATEMENT, ("statement.write",)),
        ("web:statement_edit", "POST", ""): write(
            "statement", STATEMENT, ("statement.write",), body=lambda w, o: {"version": STALE}
        ),
        **{
            (f"web:statement_{form}", method, ""): (read if method == "GET" else write)(
                "statement", STATEMENT
            )
            for form in ("text", "print", "pdf")
            for method in ("GET", "POST")
        },
        **{
            ("web:statement_action", "GET", action): post_only("statement")
            for action in (*_STEPS, "unknown")
        },
        **{
            ("web:statement_action", "POST", action): write("statement", STATEMENT, do, body=body)
            for action, (do, body) in _STEPS.items()
        },
        ("web:statement_action", "POST", "unknown"): write(
            "statement", STATEMENT, body=lambda w, o: {"version": STALE}
        ),
    }
)
API.update(
    {
        ("api-stats", "GET", ""): read(None, STATS),
        ("api-stats-now", "GET", ""): read(None, ("stats.internal",)),
        ("api-stats-release-list", "GET", ""): read(None, STATS),
        ("api-stats-release-list", "POST", ""): write(
            None,
            ("stats.prepare",),
            body=lambda w, o: {
                "start": "2002-01",
                "end": "2002-12",
                "grain": "year",
                "tables": ["requests:period:channel"],
            },
        ),
        ("api-stats-release-detail", "GET", ""): read("release", STATS),
        ("api-stats-release-approve", "POST", ""): write(
            "release", STATS, ("stats.approve",), body=lambda w, o: {"version": STALE}
        ),
        ("api-stats-release-discard", "POST", ""): write(
            "release", STATS, ("stats.prepare",), body=lambda w, o: {"version": STALE}
        ),
        ("api-stats-release-export", "GET", ""): read("release", STATS),
        ("api-statement-list", "GET", ""): read(None, STATEMENT),
        ("api-statement-list", "POST", ""): write(None, ("statement.write",), body=_STATEMENT_BODY),
        ("api-statement-detail", "GET", ""): read("statement", STATEMENT),
        ("api-statement-detail", "PUT", ""): write(
            "statement",
            STATEMENT,
            ("statement.write",),
            body=lambda w, o: {**_STATEMENT_BODY(w, o), "version": STALE},
        ),
        **{
            (f"api-statement-{action}", "POST", ""): write("statement", STATEMENT, do, body=body)
            for action, (do, body) in _STEPS.items()
        },
        ("api-statement-text", "GET", ""): read("statement", STATEMENT),
        ("api-cover-list", "GET", ""): read(None, COVERS),
        ("api-cover-detail", "GET", ""): read("cover", COVERS),
        ("api-case-cover", "GET", ""): read("case", CASE, ("cover.write",)),
        ("api-case-cover", "POST", ""): write("case", CASE, ("cover.write",), body=_COVER_BODY),
        ("api-case-cover", "PUT", ""): write(
            "case",
            CASE,
            ("cover.write",),
            body=lambda w, o: {**_COVER_BODY(w, o), "version": STALE},
        ),
        ("api-group-cover", "GET", ""): read("group", CASE, ("cover.write",)),
        ("api-group-cover", "POST", ""): write("group", CASE, ("cover.write",), body=_COVER_BODY),
        ("api-group-cover", "PUT", ""): write(
            "group",
            CASE,
            ("cover.write",),
            body=lambda w, o: {**_COVER_BODY(w, o), "version": STALE},
        ),
        ("api-case-opening", "POST", ""): write(
            "case", CASE, ("disclosure.open",), body=lambda w, o: {"reason": "Asked."}
        ),
        ("api-case-opening", "DELETE", ""): write("case", CASE, ("disclosure.open",)),
    }
)

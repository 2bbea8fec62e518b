"""Where views, API views and commands get the acting person's key context.

At login the person's private key is unwrapped with their password, then kept for the length of
the session only encrypted under a random secret: the encrypted key in the session store, the
secret in an HttpOnly, SameSite=Strict cookie (or, for the API, inside the token). Neither half
alone opens it; logging out or the session ending destroys the stored half.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from haven.crypto import CryptoError, IntegrityError, KeyContext, PersonalKey
from haven.vault import integrity
from haven.vault.holders import held_team_keys_remember
from haven.vault.index import index_share_load
from haven.vault.models import KeyShare

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from haven.accounts.models import User

security_log = logging.getLogger("haven.security")

SESSION_KEY = "haven_key_blob"
COOKIE_NAME = "haven_key"


class KeysUnavailableError(Exception):
    """The logged-in person's key is not available (cookie lost, session from before login)."""


def _genuine(shares: Iterable[KeyShare]) -> list[KeyShare]:
    """The shares that carry Haven's tag. One a database writer added or changed (a team key of
    their own in place of the team's) is left out and reported, not opened."""
    kept = []
    for share in shares:
        try:
            integrity.key_share_check(share, sealed=share.sealed, stored=share.tag)
        except IntegrityError:
            security_log.error("key share %s carries no valid integrity tag: ignored", share.pk)
            continue
        kept.append(share)
    return kept


def context_for(user: User, key: PersonalKey) -> KeyContext:
    """A context holding ``user``'s key pair and every team key shared with them (opened lazily)."""
    ctx = KeyContext(actor_id=user.pk)
    own = f"u:{user.pk}"
    ctx.add_holder(own, key)
    shares = list(KeyShare.objects.filter(user=user))
    links = list(KeyShare.objects.filter(via_key__isnull=False))
    # The same rows say which team keys the person's grants may be addressed to (the lists'
    # need-to-know filter), which every page read again.
    held_team_keys_remember(
        user,
        own=[share.team_key_id for share in shares],
        chained=[(share.team_key_id, share.via_key_id) for share in links],
    )
    for share in _genuine(shares):
        ctx.add_share(f"t:{share.team_key_id}", via=own, sealed=bytes(share.sealed))
    chained = _genuine(links)
    grew = True
    while grew:
        grew = False
        refs = ctx.holder_refs()
        for share in chained:
            ref, via = f"t:{share.team_key_id}", f"t:{share.via_key_id}"
            if via in refs and ref not in refs:
                ctx.add_share(ref, via=via, sealed=bytes(share.sealed))
                grew = True
    index_share_load(ctx)  # the blind-index key, if the person holds the all-staff key
    return ctx


def session_binding(user_id: object) -> str:
    """What a staff session's key blob is bound to: the person whose login it is."""
    return f"session:{user_id}"


def session_keys_store(request: HttpRequest, key: PersonalKey, *, user: Any) -> str:
    """Keep ``key`` for ``user``'s login: its encrypted form in the session; returns the cookie
    secret."""
    blob, secret = key.protect_for_session(binding=session_binding(user.pk))
    request.session[SESSION_KEY] = base64.b64encode(blob).decode()
    request._haven_key_secret = secret  # type: ignore[attr-defined]
    return secret


def set_key_cookie(response: HttpResponse, secret: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        secret,
        httponly=True,
        samesite="Strict",
        secure=settings.SESSION_COOKIE_SECURE,
        # No max-age: it dies with the browser, like the session cookie; the server side of the
        # session ends at HAVEN_SESSION_MAX_AGE or after the idle timeout anyway.
        path="/",
    )


def delete_key_cookie(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", samesite="Strict")


def _session_key(request: Any) -> PersonalKey:
    blob_b64 = request.session.get(SESSION_KEY)
    secret = getattr(request, "_haven_key_secret", None) or request.COOKIES.get(COOKIE_NAME)
    if not blob_b64 or not secret:
        raise KeysUnavailableError("Your keys are not unlocked in this session; log in again.")
    try:
        blob = base64.b64decode(blob_b64, validate=True)
        return PersonalKey.from_session(blob, secret, binding=session_binding(request.user.pk))
    except (binascii.Error, ValueError, CryptoError) as exc:
        raise KeysUnavailableError("Your keys could not be unlocked; log in again.") from exc


def key_context(request: Any) -> KeyContext:
    """The key context of the logged-in person making ``request``, made once per request."""
    django_request = getattr(request, "_request", request)
    ctx = getattr(django_request, "_haven_key_context", None)
    if ctx is None:
        token_key = getattr(django_request, "_haven_token_key", None)
        key = token_key if token_key is not None else _session_key(django_request)
        ctx = context_for(request.user, key)
        django_request._haven_key_context = ctx
    return ctx

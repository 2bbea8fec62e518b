"""The database plus every server-side secret, without a person's password or key cookie, opens
no case; and a person not granted a case cannot open it even by calling services directly."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.http import Http404

from haven.cases.models import Case, Note, Person
from haven.cases.selectors import case_detail
from haven.cases.services import case_update, note_add
from haven.crypto import CryptoError, KeyContext, MissingKeyError, PersonalKey
from haven.vault.context import SESSION_KEY, context_for, session_binding
from haven.vault.models import DataKey, Grant, KeyShare, TeamKey, UserKey
from haven.vault.sealed import _aad, payload_read
from tests.factories import ctx_for, login_with_pages, make_case

pytestmark = pytest.mark.django_db


def _server_side_candidates() -> list[bytes]:
    """Every secret the server holds, and every 32-byte value in the key tables, as raw bytes."""
    secret = settings.SECRET_KEY.encode()
    found = [
        secret,
        hashlib.sha256(secret).digest(),
        hashlib.blake2b(secret, digest_size=32).digest(),
    ]
    for model, fields in (
        (UserKey, ("public_key",)),
        (TeamKey, ("public_key",)),
        (DataKey, ("recovery_sealed",)),
        (Grant, ("sealed",)),
        (KeyShare, ("sealed",)),
    ):
        for row in model.objects.values_list(*fields):
            for value in row:
                raw = bytes(value)
                found += [raw[i : i + 32] for i in range(0, max(len(raw) - 31, 1), 16)]
    for session in Session.objects.all():
        found.append(session.session_key.encode()[:32].ljust(32, b"\0"))
    # The erasure store: every secret in it (one per data key), read as the file it is.
    store = settings.HAVEN_ERASURE_STORE.read_bytes()
    found += [store[i : i + 32] for i in range(64, len(store), 32)][-64:]
    return [c for c in found if len(c) == 32]


def test_the_database_and_server_secrets_open_no_case_without_a_password_or_cookie(
    client, ctx, alice, bob
):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    note_add(ctx=ctx, actor=alice, case=case, text="near the river")
    login_with_pages(client, bob)
    candidates = _server_side_candidates()
    assert len(candidates) > 20

    # Password-wrapped private keys: no server secret is the password.
    for user_key in UserKey.objects.all():
        for guess in (
            settings.SECRET_KEY,
            "",
            *(base64.b64encode(c).decode() for c in candidates[:5]),
        ):
            with pytest.raises(CryptoError):
                PersonalKey.unwrap_with_password(bytes(user_key.wrapped_private), guess)
    # The encrypted key in bob's session: no server value is the cookie's secret.
    blob = base64.b64decode(Session.objects.get().get_decoded()[SESSION_KEY])
    for candidate in candidates:
        secret = base64.urlsafe_b64encode(candidate).decode().rstrip("=")
        with pytest.raises(CryptoError):
            PersonalKey.from_session(blob, secret, binding=session_binding(bob.pk))
    # No stored value works as a private key for any grant, nor as the case's data key.
    fresh = Case.objects.get(pk=case.pk)
    for candidate in candidates:
        probe = KeyContext(actor_id=None)
        probe.add_holder("u:x", PersonalKey.from_bytes(candidate))
        for grant in Grant.objects.filter(data_key_id=fresh.data_key_id):
            with pytest.raises(CryptoError):
                probe.data_key_unlock(
                    str(fresh.data_key_id),
                    holder="u:x",
                    sealed=grant.sealed,
                    slot=fresh.data_key.erasure_slot,
                )
    # A server process has no personal key: its context opens nothing.
    server = KeyContext(actor_id=None)
    for record in (fresh, Person.objects.get(pk=fresh.person_id), Note.objects.get()):
        with pytest.raises(MissingKeyError):
            payload_read(ctx=server, record=record)
    assert _aad(fresh)  # the associated data is known to anyone; it is not a secret


def test_a_person_not_granted_a_case_cannot_open_it_through_any_service(ctx, alice, bob, carol):
    case = make_case(ctx=ctx, actor=alice, owner=bob)
    carol_ctx = ctx_for(carol)

    with pytest.raises(Http404):  # not in the cases she may see: as if it did not exist
        case_detail(ctx=carol_ctx, user=carol, case_id=case.pk)
    with pytest.raises(PermissionDenied):
        note_add(ctx=carol_ctx, actor=carol, case=case, text="x")
    # Claiming to be someone who holds it does not help: the keys are carol's.
    with pytest.raises(MissingKeyError):
        case_detail(ctx=carol_ctx, user=alice, case_id=case.pk)
    with pytest.raises(MissingKeyError):
        case_update(ctx=carol_ctx, actor=bob, case=case, expected_version=case.version, summary="x")
    assert Case.objects.get(pk=case.pk).version == case.version
    assert context_for(carol, PersonalKey.generate()).holder_refs() >= {f"u:{carol.pk}"}

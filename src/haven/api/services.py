"""Issuing and revoking API tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from haven.api.authentication import PREFIX, api_token_binding
from haven.api.models import ApiToken
from haven.audit.services import audit_record
from haven.crypto import secret_digest
from haven.vault.services import user_key_open

if TYPE_CHECKING:
    from haven.accounts.models import User


@transaction.atomic
def api_token_create(*, user: User, password: str) -> str:
    """A new token for ``user`` (whose password was just checked), valid for
    ``HAVEN_API_TOKEN_HOURS``. Returned once; only its digest is stored. A wrong password raises
    CryptoError (the key does not unwrap)."""
    key = user_key_open(user=user, password=password)
    token_id = uuid.uuid4()
    blob, secret = key.protect_for_session(binding=api_token_binding(user.pk, token_id))
    now = timezone.now()
    token = ApiToken.objects.create(
        id=token_id,
        user=user,
        digest=secret_digest(secret),
        key_blob=blob,
        created_at=now,
        expires_at=now + dt.timedelta(hours=settings.HAVEN_API_TOKEN_HOURS),
    )
    audit_record(actor=user, action="api.token", detail={"token": str(token.pk)})
    return PREFIX + secret


@transaction.atomic
def api_token_revoke(*, user: User, token: ApiToken) -> None:
    """End one API login: the token and the key it carried are gone."""
    ApiToken.objects.filter(pk=token.pk, user=user).delete()
    audit_record(actor=user, action="api.token_revoke", detail={"token": str(token.pk)})

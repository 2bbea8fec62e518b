"""Two-factor login: TOTP (django-otp) and one-time recovery codes, each only for oneself.

Services here take the person logging in (or logged in) and nobody else: there is no way to
enrol or reset someone else's second factor from the interface (administrators reset passwords
with `haven resetpassword`, which also clears the second factor, see `two_factor_reset`).
"""

from __future__ import annotations

import secrets
import unicodedata

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from haven.accounts.models import RecoveryCode, User
from haven.audit.services import audit_record
from haven.crypto import secret_digest

RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
_CODE_LENGTH = 16  # 16 characters of 31: about 79 bits, beyond offline guessing of the digest


def _normalise(code: str) -> str:
    folded = unicodedata.normalize("NFKC", code).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def totp_device(user: User) -> TOTPDevice | None:
    """The person's confirmed authenticator, if they have enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def totp_enrol_begin(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator secret for ``user`` (shown as a QR code to scan).

    Any earlier unconfirmed one is replaced; a confirmed one stays until the new one is confirmed.
    """
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_enrol_confirm(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the authenticator with a code from it; returns new recovery codes, shown once."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError({"code": "This enrolment is not yours or is already finished."})
    if not device.verify_token(_normalise(code)):
        raise ValidationError(
            {"code": "That code is not right; check the app's clock and try again."}
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_replace(user)
    audit_record(actor=user, action="two_factor.enrol", target=user)
    return codes


def _recovery_codes_replace(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    now = timezone.now()
    codes = [
        "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=secret_digest(code), created_at=now) for code in codes]
    )
    return [f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}" for code in codes]


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """New recovery codes for oneself (the old ones stop working)."""
    codes = _recovery_codes_replace(user)
    audit_record(actor=user, action="two_factor.recovery_codes", target=user)
    return codes


@transaction.atomic
def second_factor_verify(*, user: User, code: str) -> str:
    """Check a code from the authenticator, or a recovery code (used once). Returns which.

    TOTP codes are refused when replayed (django-otp remembers the last time step used) and
    attempts are throttled per device; a wrong code raises ValidationError.
    """
    cleaned = _normalise(code)[:64]
    device = totp_device(user)
    if device is not None and cleaned.isdigit() and len(cleaned) == 6:
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            raise ValidationError({"code": "Too many wrong codes: wait a little and try again."})
        if device.verify_token(cleaned):
            return "totp"
        raise ValidationError({"code": "That code is not right (or was already used)."})
    if len(cleaned) == _CODE_LENGTH:
        used = RecoveryCode.objects.filter(
            user=user, digest=secret_digest(cleaned), used_at__isnull=True
        ).update(used_at=timezone.now())
        if used:
            left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
            audit_record(
                actor=user, action="two_factor.recovery_used", target=user, detail={"left": left}
            )
            return "recovery"
    raise ValidationError({"code": "That code is not right (or was already used)."})


def two_factor_reset(*, user: User) -> None:
    """Remove someone's second factor with their password reset (they enrol again at login).
    Call inside the reset's transaction; the reset is audited there."""
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()

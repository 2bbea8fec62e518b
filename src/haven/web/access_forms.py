"""Forms for key custody pages: grants, revocation, deletion, team keys and passwords."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from haven import access
from haven.accounts.models import User


class GrantForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Give access to"))

    def __init__(self, *args: Any, candidates: QuerySet[User], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates  # type: ignore[attr-defined]


class RevokeForm(forms.Form):
    holder = forms.CharField(max_length=50)
    rotate = forms.BooleanField(
        required=False,
        label=_("Also replace the case's key and re-encrypt it"),
        help_text=_("Use this if their device or account may be compromised."),
    )

    def clean_holder(self) -> tuple[str, str]:
        kind, _sep, pk = self.cleaned_data["holder"].partition(":")
        if kind not in ("u", "t") or not pk:
            raise forms.ValidationError(_("Unknown holder."))
        return kind, pk


class DeleteForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    confirm = forms.CharField(
        max_length=20,
        label=_("Type DELETE to confirm"),
        help_text=_("This destroys every copy of the case's key. It cannot be undone."),
    )

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != "DELETE":
            raise forms.ValidationError(_("Type DELETE in capitals to confirm."))
        return value


class ShareForm(forms.Form):
    user = forms.IntegerField(min_value=1)
    team_key = forms.UUIDField()


class RotateForm(forms.Form):
    team_key = forms.UUIDField()


class RestoreForm(forms.Form):
    user = forms.IntegerField(min_value=1)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), widget=forms.PasswordInput, max_length=1024
    )
    new_password = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput, max_length=1024
    )
    new_password_again = forms.CharField(
        label=_("New password again"), widget=forms.PasswordInput, max_length=1024
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return data


def grant_candidates(*, holders: list[Any], actor: User | None = None) -> QuerySet[User]:
    """Staff who work with cases and do not hold this case yet (never the person granting)."""
    held = [h.user_id for h in holders if h.user_id is not None and not h.stale]
    if actor is not None:
        held.append(actor.pk)
    roles = [str(role) for role in access.CASE_READERS]
    return (
        User.objects.filter(is_active=True, role__in=roles, key__isnull=False)
        .exclude(pk__in=held)
        .order_by("username")
    )

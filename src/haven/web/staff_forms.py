"""Forms of the administrators' staff pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from haven.accounts.models import Role, Team, User
from haven.referrals.models import Partner


class _TeamMixin(forms.Form):
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.order_by("name"), required=False
    )
    new_team = forms.CharField(label=_("or a new team"), max_length=80, required=False)
    partner = forms.ModelChoiceField(
        label=_("Partner agency (partner liaisons)"),
        queryset=Partner.objects.order_by("name"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("team") and data.get("new_team"):
            self.add_error("new_team", _("Choose a team or name a new one, not both."))
        if data.get("role") == Role.PARTNER_LIAISON and not data.get("partner"):
            self.add_error("partner", _("A partner liaison belongs to a partner agency."))
        return data


class StaffCreateForm(_TeamMixin):
    username = forms.CharField(
        label=_("Username"), max_length=150, validators=[User.username_validator]
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    field_order = ["username", "first_name", "last_name", "role", "team", "new_team", "partner"]


class StaffChangeForm(_TeamMixin):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    no_team = forms.BooleanField(label=_("No team"), required=False)

    field_order = ["role", "team", "new_team", "no_team", "partner"]


class StaffActiveForm(forms.Form):
    active = forms.TypedChoiceField(coerce=lambda v: v == "1", choices=[("1", "1"), ("0", "0")])


class StaffResetForm(forms.Form):
    reset_two_factor = forms.BooleanField(
        label=_(
            "Also remove their authenticator (only if they lost it and their recovery codes: "
            "whoever knows the new password can then enrol one in their name)"
        ),
        required=False,
    )
    confirm = forms.CharField(label=_("Type their username to confirm"), max_length=150)

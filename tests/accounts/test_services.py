"""Staff accounts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from haven.accounts.services import user_set_partner
from haven.audit.models import AuditEntry


@pytest.mark.django_db
def test_a_liaison_is_tied_to_their_agency_and_it_is_audited(erin, frank, partner):
    user_set_partner(actor=erin, user=frank, partner=None)
    user_set_partner(actor=erin, user=frank, partner=partner)

    frank.refresh_from_db()
    assert frank.partner == partner
    assert AuditEntry.objects.filter(action="user.partner", target_id=str(frank.pk)).count() == 2


@pytest.mark.django_db
def test_only_liaisons_belong_to_a_partner(erin, bob, partner):
    with pytest.raises(ValidationError):
        user_set_partner(actor=erin, user=bob, partner=partner)
    bob.refresh_from_db()
    assert bob.partner is None

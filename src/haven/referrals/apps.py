from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "haven.referrals"
    label = "referrals"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.referrals.models import Consent, Referral

        # A referral rests on a consent (PROTECT): referrals go first. A sent referral's packet
        # has a key of its own, which goes with the case.
        keyset.case_scoped(Referral)
        keyset.case_scoped(Consent)

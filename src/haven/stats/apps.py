from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "haven.stats"
    label = "stats"
    verbose_name = "Statistics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.stats.models import FactsSnapshot, Release

        # Sealed to the statistics key, never to a case's holders: they hold no case's data (a
        # snapshot holds every case's coarse facts, a release its counts).
        keyset.exempt(
            FactsSnapshot,
            reason="every case's coarse facts together, under a key held by the statistics key",
        )
        keyset.exempt(Release, reason="a release's counts, under a key held by the statistics key")

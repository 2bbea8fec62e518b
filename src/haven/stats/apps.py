from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "haven.stats"
    label = "stats"
    verbose_name = "Statistics"
    default_auto_field = "django.db.models.BigAutoField"

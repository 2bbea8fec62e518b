from django.apps import AppConfig


class DedupeConfig(AppConfig):
    name = "haven.dedupe"
    label = "dedupe"
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "haven.api"
    label = "api"

    def ready(self) -> None:
        # Registers the schema's extensions with drf-spectacular.
        from haven.api import schema  # noqa: F401

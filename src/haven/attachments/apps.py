from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "haven.attachments"
    label = "attachments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from haven.attachments.models import Attachment
        from haven.cases import keyset

        # Each file has a key of its own, granted, revoked and destroyed with the request's.
        keyset.request_scoped(Attachment)

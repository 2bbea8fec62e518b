from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "haven.messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.messaging.models import Conversation, Message

        # The conversation key goes with the request's: messages first, then the conversation.
        keyset.request_scoped(Message)
        keyset.request_scoped(Conversation)

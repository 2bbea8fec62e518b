from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "haven.brokers"
    label = "brokers"

    def ready(self) -> None:
        from haven.brokers.models import Broker
        from haven.cases import keyset

        keyset.exempt(
            Broker,
            reason="a broker's record outlives any one request: it has its own key, sealed to "
            "all case staff and supervisors, and is never destroyed with a case",
        )

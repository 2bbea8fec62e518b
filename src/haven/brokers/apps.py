from django.apps import AppConfig


class BrokersConfig(AppConfig):
    name = "haven.brokers"
    label = "brokers"

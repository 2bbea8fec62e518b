from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "haven.portal"
    label = "portal"
    verbose_name = "Requester portal"

from django.apps import AppConfig


class LockdownConfig(AppConfig):
    name = "haven.lockdown"
    label = "lockdown"
    verbose_name = "Lockdown"

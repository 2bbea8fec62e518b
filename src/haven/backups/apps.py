from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "haven.backups"
    label = "backups"
    verbose_name = "Backups"

    def ready(self) -> None:
        from haven.backups.models import BackupCanary
        from haven.cases import keyset

        keyset.exempt(
            BackupCanary,
            reason="a backup's canary: written by `haven backup`, opened only by a verify or a "
            "restore of that backup; it belongs to no case or request",
        )

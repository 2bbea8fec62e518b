from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "haven.vault"
    label = "vault"
    verbose_name = "Sensitive-data boundary"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.vault.models import Grant, SearchIndexPending, SearchToken

        keyset.exempt(Grant, reason="a sealed copy of the key itself, destroyed with it")
        keyset.exempt(
            SearchToken, reason="belongs to its key (on_delete=CASCADE), moved on rotation"
        )
        keyset.exempt(SearchIndexPending, reason="a mark on its key (on_delete=CASCADE)")

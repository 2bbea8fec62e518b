from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "haven.imports"
    label = "imports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.imports.models import ImportBatch, ImportChunk, ImportMapping, ImportStage

        staged = (
            "what an import keeps between its check and its load lives under the import's own "
            "keys (stage, bad rows), never a case's: destroyed when the load finishes, the "
            "import is discarded or HAVEN_IMPORT_STAGE_HOURS pass"
        )
        keyset.exempt(ImportStage, reason=staged)
        keyset.exempt(ImportChunk, reason=staged)
        keyset.exempt(ImportBatch, reason="names the keys of what it keeps; " + staged)
        keyset.exempt(
            ImportMapping,
            reason="a saved column mapping belongs to no case: its own key, sealed to the "
            "supervisors, destroyed when the mapping is deleted",
        )

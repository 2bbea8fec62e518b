from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "haven.cases"
    label = "cases"
    verbose_name = "Requests and cases"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.cases.models import JourneyEvent, Note

        keyset.case_scoped(JourneyEvent)
        keyset.case_scoped(Note)

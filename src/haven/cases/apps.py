from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "haven.cases"
    label = "cases"
    verbose_name = "Requests and cases"

    def ready(self) -> None:
        from haven.audit.services import before_append
        from haven.cases import keyset
        from haven.cases.models import JourneyEvent, Note
        from haven.cases.tallies import tallies_catch_up

        if tallies_catch_up not in before_append:
            before_append.append(tallies_catch_up)

        keyset.case_scoped(JourneyEvent)
        keyset.case_scoped(Note)

from django.apps import AppConfig


class DisclosureConfig(AppConfig):
    name = "haven.disclosure"
    label = "disclosure"

    def ready(self) -> None:
        from haven.cases import keyset
        from haven.disclosure.models import Cover, LeakPrint, Opening, Statement

        # A case's cover values and the fingerprints of its true values have keys of their own,
        # sealed to the press office's key: destroyed with the case, never granted with it. A
        # group's cover values go with the group. An opening (a side exit a supervisor opened,
        # with the reason) is sealed under the case's own key and goes with it in every way.
        keyset.case_scoped(Cover, travels=False)
        keyset.case_scoped(LeakPrint, travels=False)
        keyset.case_scoped(Opening)
        keyset.group_scoped(Cover)
        keyset.exempt(
            Statement,
            reason="a statement belongs to the press office (sealed to its key); it names cases "
            "and groups only through cover records, inside its payload",
        )

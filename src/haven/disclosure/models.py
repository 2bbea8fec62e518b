"""Speaking in public without endangering anyone: cover values, openings, fingerprints of true
values, and press statements.

Every model here is a sealed record. Covers, fingerprints and statements have data keys of their
own, sealed to the press office's team key (press officers, and supervisors through their key)
and to the recovery key, never to the case's holders: a press officer opens them without holding
any case. An opening is sealed under its case's own key. Plain columns: see docs/security.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from haven.cases.journey import State
from haven.vault.models import SealedRecord


class Cover(SealedRecord):
    """What the public may be told about one case or one group, field by field.

    Payload: ``label`` (how the press office knows the record; never a true value), ``fields``:
    for each outward field (:data:`haven.disclosure.facts.FIELDS`) a mode (``cover``: a value
    the supervisor chose; ``true``: the true value, marked publishable with a reason; ``month``
    or ``year``: the true date coarsened; ``rounded``: the true number rounded), the values per
    language, the reason, who decided and when. A field with no entry is never rendered.
    """

    sealed_bindings = ("case_id", "group_id")

    case = models.OneToOneField(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="cover"
    )
    group = models.OneToOneField(
        "cases.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="cover"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(case__isnull=False, group__isnull=True)
                | models.Q(case__isnull=True, group__isnull=False),
                name="cover_of_a_case_or_a_group",
            )
        ]

    def __str__(self) -> str:
        return f"Cover {self.pk}"


class LeakPrint(SealedRecord):
    """Keyed fingerprints of one person's true values (names in every reading, aliases, places,
    exact dates), for the leak check where nobody holds the case (a press officer rendering).

    Payload: ``prints`` (kind -> hex fingerprints), ``published`` (kinds marked publishable).
    The fingerprints are keyed with a key the server holds outside the database
    (:func:`haven.crypto.leak_fingerprint`), and the payload is sealed to the press office: a
    press officer cannot test guesses against them offline, a database thief cannot read them.
    """

    sealed_bindings = ("case_id",)

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="leak_print")
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Fingerprints of {self.case_id}"


class Opening(SealedRecord):
    """A supervisor's written decision that statements may speak about one person in a side exit
    (detained, repatriated, deceased, lost contact). It holds while the case stays in that state.

    Payload: ``reason``. Sealed under the case's own key.
    """

    sealed_bindings = ("case_id", "state")

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="opening")
    state = models.CharField(max_length=20, choices=State.choices)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Opening of {self.case_id}"


class StatementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    RELEASED = "released", _("Released")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Statement(SealedRecord):
    """A press statement: drafted by a press officer, approved by a supervisor who did not write
    it, released (its rendered text frozen with the time), and possibly withdrawn.

    Payload: ``title``, ``texts`` (language -> text with references such as ``[[A.origin]]``),
    ``subjects`` (handle -> cover record), ``review`` (a supervisor's note when sent back),
    ``approval`` (digest of the text approved, phrases a supervisor cleared and why),
    ``released`` (the frozen title and texts), ``withdrawn`` (why).
    """

    sealed_bindings = ("status", "author_id")

    status = models.CharField(
        max_length=12, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    released_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "id"]

    def __str__(self) -> str:
        return f"Statement {self.pk}"

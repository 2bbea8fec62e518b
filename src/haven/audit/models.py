from __future__ import annotations

from django.conf import settings
from django.db import models

from haven.audit.chain import GENESIS


class AuditEntry(models.Model):
    """Who did what to which record, when, from which session. Holds no sensitive values.

    Entries form a hash chain (see :mod:`haven.audit.chain`): ``seq`` counts from 1 without gaps,
    ``prev_hash`` is the ``entry_hash`` of the entry before and ``entry_hash`` covers every field.
    Write entries only through :func:`haven.audit.services.audit_record`.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    # PROTECT: deleting a person would rewrite their entries (and break the chain); deactivate
    # accounts instead.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=60, db_index=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    # A non-identifying reference to the login session (never the session key itself).
    session = models.CharField(max_length=64, blank=True, default="")
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class AuditHead(models.Model):
    """The chain head: one row (pk 1) with the last entry's seq and hash, signed.

    Appending locks this row (SELECT ... FOR UPDATE) inside the caller's transaction, so two
    transactions can never take the same seq or link to the same entry. A head that is behind
    or ahead of the last entry shows a truncated or extended tail. ``signature`` is this server's
    signature over seq and hash (:mod:`haven.audit.signing`), empty when the head was found
    without a valid one: a chain rewritten in the database cannot be signed again there.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    seq = models.PositiveBigIntegerField(default=0)
    entry_hash = models.CharField(max_length=64, default=GENESIS)
    at = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(max_length=160, blank=True, default="")

    class Meta:
        verbose_name = "audit chain head"

    def __str__(self) -> str:
        return f"{self.seq}:{self.entry_hash}"

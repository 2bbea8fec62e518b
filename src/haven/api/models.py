"""API tokens, stored hashed, each carrying the holder's key for the token's life."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """One API login. The token itself is shown once and stored only as a digest; the person's
    private key is kept encrypted under a secret that only the token contains."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.BinaryField(unique=True)
    key_blob = models.BinaryField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"API token {self.id}"

"""Test settings: the same code paths, fast hashing, throwaway secrets generated per run."""

import os
import secrets
import tempfile

os.environ.setdefault("HAVEN_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("HAVEN_DATA_DIR", tempfile.mkdtemp(prefix="haven-test-"))

from haven.settings.base import *  # noqa: E402,F403
from haven.settings.base import DATABASES  # noqa: E402

# Speed only; never in production.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Argon2id at its minimum cost so that tests that wrap keys stay fast; production refuses it.
HAVEN_KDF_OPSLIMIT = 1
HAVEN_KDF_MEMLIMIT = 8 * 1024 * 1024
HAVEN_KDF_INSECURE_FOR_TESTS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "haven.db.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(os.environ["HAVEN_DATA_DIR"], "test.sqlite3")
    }

from haven.settings.base import STATIC_ROOT  # noqa: E402

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise

# Portal requests are written whole unless a test turns the queue on (tests/portal/test_queue.py):
# a test that sends many quickly must not find them queued.
HAVEN_PORTAL_QUEUE = "off"

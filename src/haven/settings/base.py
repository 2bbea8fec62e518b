"""Settings for every deployment, read from the environment (see README, "Configuration")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

from haven.conf import env_bool, env_choice, env_days, env_int, env_list, env_optional, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("HAVEN_DATA_DIR", str(Path.cwd() / ".haven-data")))

DEBUG = env_bool("HAVEN_DEBUG", False)
SECRET_KEY = env_str("HAVEN_SECRET_KEY")
# Earlier secret keys, while a change of HAVEN_SECRET_KEY settles (comma-separated): sessions and
# the audit head signed with them stay valid. Remove them once the audit trail has a new entry.
SECRET_KEY_FALLBACKS = env_list("HAVEN_SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("HAVEN_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("HAVEN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "haven.accounts",
    "haven.audit",
    "haven.vault",
    "haven.brokers",
    "haven.cases",
    "haven.referrals",
    "haven.retention",
    "haven.lockdown",
    "haven.web",
    "haven.api",
    "haven.demo",
    "haven.portal",
    "haven.attachments",
    "haven.messaging",
    "haven.dedupe",
    "haven.backups",
    "haven.imports",
    "haven.exports",
    "haven.documents",
    "haven.stats",
    "haven.disclosure",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "haven.web.middleware.SecurityHeadersMiddleware",
    "haven.web.after.AfterResponseMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "haven.audit.context.AuditSessionMiddleware",
    "haven.vault.middleware.KeyCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "haven.accounts.middleware.SessionLimitsMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by authenticate() into the answer.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Which pages this process serves: everything (one host, the default), the staff side only, or the
# requester portal only (a separate process or host, e.g. behind an onion service, so that the
# staff pages are not reachable from where requesters come in). `haven portal` sets "portal".
HAVEN_SERVE = env_choice("HAVEN_SERVE", "all", choices=("all", "staff", "portal"))
ROOT_URLCONF = {"all": "haven.urls", "staff": "haven.urls_staff", "portal": "haven.urls_portal"}[
    HAVEN_SERVE
]
# A portal-only process runs without the staff side's middleware: the portal has no Django
# session, login, CSRF cookie (its forms carry their own one-time token), messages or language
# negotiation (the language is in its URL), and each of those costs time on every request of a
# flood. What every response needs stays: security headers, static files, canonical URLs.
PORTAL_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "haven.web.middleware.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]
if HAVEN_SERVE == "portal":
    MIDDLEWARE = PORTAL_MIDDLEWARE
    # django-axes warns when its middleware is missing; a portal process serves no staff login.
    SILENCED_SYSTEM_CHECKS = ["axes.W002"]
WSGI_APPLICATION = "haven.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

# Django's own form renderer, with selects written in Python (the same HTML, far faster).
FORM_RENDERER = "haven.web.renderers.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'haven.sqlite3'}")
    config = dict(dj_database_url.parse(url, conn_max_age=env_int("HAVEN_DB_CONN_MAX_AGE", 60)))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Django's backend, with writers queued by the OS rather than by SQLite's busy-wait.
        config["ENGINE"] = "haven.db.sqlite3"
        # Connections are kept (HAVEN_DB_CONN_MAX_AGE, as for PostgreSQL): opening one runs the
        # PRAGMAs below, about a millisecond that every portal request paid twice over.
        config["OPTIONS"] = {
            # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock up front
            # so two writers queue instead of failing half-way with "database is locked".
            # synchronous=FULL: a commit is on disk before Haven acknowledges it (a portal receipt
            # is shown only after that); NORMAL could lose the last commits on a power cut.
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;"
                "PRAGMA foreign_keys=ON;PRAGMA secure_delete=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    elif config["ENGINE"] == "django.db.backends.postgresql" and env_bool(
        "HAVEN_PG_SERVER_SIDE_BINDING", True
    ):
        # Parameters sent apart from the SQL (not quoted into it by the client): sealed payloads
        # and keys are bytes, and quoting them cost a fifth of a portal submission's time.
        options: dict[str, Any] = {**(config.get("OPTIONS") or {})}  # type: ignore[dict-item]
        config["OPTIONS"] = {**options, "server_side_binding": True}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id at the key wrap's cost (HAVEN_KDF_*): a copy of the database offers no cheaper way to
# guess a password than unwrapping the key (haven.accounts.hashers). It also reads the hashes
# Django's own Argon2 hasher made before (the same "argon2" prefix), and re-makes them at the next
# login; Django's hasher is left out so that none is checked without Haven's limit on its cost.
PASSWORD_HASHERS = [
    "haven.accounts.hashers.HavenArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ko", _("Korean"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("HAVEN_TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("HAVEN_STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
SESSION_COOKIE_AGE = env_int("HAVEN_SESSION_MAX_AGE", 8 * 3600, minimum=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Logged out after this long without a request; SESSION_COOKIE_AGE is the absolute limit.
HAVEN_IDLE_TIMEOUT = env_int("HAVEN_IDLE_TIMEOUT_MINUTES", 30, minimum=1) * 60
# Granting, revoking, deleting and other grave actions need a password typed this recently.
HAVEN_REAUTH_SECONDS = env_int("HAVEN_REAUTH_SECONDS", 300, minimum=30)
# Two-factor login (TOTP) for every staff member. Only `make demo` turns it off.
HAVEN_REQUIRE_2FA = env_bool("HAVEN_REQUIRE_2FA", True)
OTP_TOTP_ISSUER = "Haven"

# Login throttling (django-axes): a username is locked out *from one address* after
# HAVEN_LOGIN_FAILURE_LIMIT failures, for HAVEN_LOGIN_COOLOFF_MINUTES, so that nobody can lock a
# named colleague out from elsewhere, or for ever. Successful logins are not recorded.
AXES_FAILURE_LIMIT = env_int("HAVEN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("HAVEN_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# The page above on the web; the API answers in JSON like every other API error.
AXES_LOCKOUT_CALLABLE = "haven.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_IPWARE_PROXY_COUNT = env_int("HAVEN_PROXY_COUNT", 0, minimum=0) or None
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
# Not "no-referrer": browsers then send "Origin: null" on form posts and CSRF checks fail.
# same-origin still sends nothing to other sites.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
HAVEN_HTTPS = env_bool("HAVEN_HTTPS", False)
SESSION_COOKIE_SECURE = HAVEN_HTTPS
CSRF_COOKIE_SECURE = HAVEN_HTTPS
SECURE_SSL_REDIRECT = env_bool("HAVEN_SSL_REDIRECT", HAVEN_HTTPS)
SECURE_HSTS_SECONDS = 31536000 if HAVEN_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HAVEN_HTTPS
# Only marks the site as willing; submitting it to the browsers' preload list stays a human act.
SECURE_HSTS_PRELOAD = HAVEN_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HAVEN_HTTPS else None

# Large bodies are refused before they reach a form: an account is capped far below this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("HAVEN_MAX_BODY_BYTES", 1_000_000, minimum=10_000)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2_000

# Files: images and PDFs sent with a portal request (haven.attachments). Uploads are held in memory
# only, never in a temporary file, and a file over the limit is dropped while it arrives
# (haven.attachments.uploads); a body over the portal's total is refused before it is read.
FILE_UPLOAD_HANDLERS = ["haven.attachments.uploads.MemoryOnlyUploadHandler"]
HAVEN_ATTACHMENT_MAX_BYTES = env_int("HAVEN_ATTACHMENT_MAX_BYTES", 10_000_000, minimum=10_000)
HAVEN_ATTACHMENT_MAX_TOTAL_BYTES = env_int(
    "HAVEN_ATTACHMENT_MAX_TOTAL_BYTES", 20_000_000, minimum=10_000
)
HAVEN_ATTACHMENT_MAX_FILES = env_int("HAVEN_ATTACHMENT_MAX_FILES", 5, minimum=0)
# Decompression bombs, refused from the images' headers before anything decodes them: pixels per
# image, per request (all its images together), and per byte of file above 4 megapixels.
HAVEN_ATTACHMENT_MAX_PIXELS = env_int("HAVEN_ATTACHMENT_MAX_PIXELS", 50_000_000, minimum=1_000_000)
HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS = env_int(
    "HAVEN_ATTACHMENT_MAX_REQUEST_PIXELS", 100_000_000, minimum=1_000_000
)
HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE = env_int(
    "HAVEN_ATTACHMENT_MAX_PIXELS_PER_BYTE", 4_000, minimum=10
)
# Files are decoded and cleaned in a process of their own (haven.attachments.sandbox): at most
# this many at once on the host, this many more requests waiting (for up to the seconds given)
# and the rest turned away kindly; each process gets this much processor time (and twice as long
# by the clock) and this much memory beyond what it starts with.
HAVEN_ATTACHMENT_DECODERS = env_int("HAVEN_ATTACHMENT_DECODERS", 1, minimum=1)
HAVEN_ATTACHMENT_DECODE_QUEUE = env_int("HAVEN_ATTACHMENT_DECODE_QUEUE", 1, minimum=0)
HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS = env_int(
    "HAVEN_ATTACHMENT_DECODE_WAIT_SECONDS", 10, minimum=0
)
HAVEN_ATTACHMENT_DECODE_SECONDS = env_int("HAVEN_ATTACHMENT_DECODE_SECONDS", 10, minimum=1)
HAVEN_ATTACHMENT_DECODE_MEMORY_MB = env_int("HAVEN_ATTACHMENT_DECODE_MEMORY_MB", 1024, minimum=128)
# Where the decoders' lock files live (empty files; one directory per host).
HAVEN_ATTACHMENT_DECODE_DIR = env_str("HAVEN_ATTACHMENT_DECODE_DIR", str(DATA_DIR / "decoders"))

# Spreadsheet imports (haven.imports): the file is read in memory only, like attachments; what is
# kept between the dry run and the commit is sealed and destroyed after HAVEN_IMPORT_STAGE_HOURS.
HAVEN_IMPORT_MAX_BYTES = env_int("HAVEN_IMPORT_MAX_BYTES", 50_000_000, minimum=100_000)
HAVEN_IMPORT_MAX_ROWS = env_int("HAVEN_IMPORT_MAX_ROWS", 200_000, minimum=10)
HAVEN_IMPORT_STAGE_HOURS = env_int("HAVEN_IMPORT_STAGE_HOURS", 72, minimum=1)
# Processes `haven import` builds (seals) chunks in while it writes them (haven.imports.builders):
# 1 builds in the command's own process. The web page loads in its own process, a step at a time.
HAVEN_IMPORT_WORKERS = env_int("HAVEN_IMPORT_WORKERS", 2, minimum=1)
# Printed case files (haven.documents): a TrueType font with Hangul, from Debian's fonts-nanum
# (scripts/ensure-fonts); a bold face beside it is used when present.
HAVEN_PDF_FONT = env_str("HAVEN_PDF_FONT", "/usr/share/fonts/truetype/nanum/NanumGothic.ttf")

# Statistics (haven.stats): figures below K are kept back, and no kept-back figure may be narrowed
# by an attacker to a range narrower than the protection level (0: the same as K).
HAVEN_STATS_K = env_int("HAVEN_STATS_K", 10, minimum=2)
HAVEN_STATS_PROTECTION = env_int("HAVEN_STATS_PROTECTION", 0, minimum=0)
HAVEN_STATS_ZEROS_DISCLOSIVE = env_bool("HAVEN_STATS_ZEROS_DISCLOSIVE", False)
HAVEN_STATS_ROUNDING_BASE = env_int("HAVEN_STATS_ROUNDING_BASE", 5, minimum=2)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "haven.api.authentication.HavenTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "haven.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Haven API",
    "DESCRIPTION": "Requests, cases, groups, brokers, the journey and referrals.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH bodies are their own input serializers (``version`` is required), not partial models.
    "COMPONENT_SPLIT_PATCH": False,
    # One schema name per choice set (the sets are defined in haven.api.serializers).
    "ENUM_NAME_OVERRIDES": {
        "JourneyStateEnum": "haven.api.serializers.JOURNEY_STATES",
        "UrgencyEnum": "haven.api.serializers.URGENCIES",
        "RequestStatusEnum": "haven.api.serializers.REQUEST_STATUSES",
        "TriageStatusEnum": "haven.api.serializers.TRIAGE_STATUSES",
        "BrokerStatusEnum": "haven.api.serializers.BROKER_STATUSES",
        "ReferralStatusEnum": "haven.api.serializers.REFERRAL_STATUSES",
        "ReferralResponseEnum": "haven.api.serializers.REFERRAL_RESPONSES",
        "BirthPrecisionEnum": "haven.api.serializers.BIRTH_PRECISION_CHOICES",
        "BirthCalendarEnum": "haven.api.serializers.BIRTH_CALENDAR_CHOICES",
        "DisclosableFieldEnum": "haven.api.serializers.FIELD_CHOICES",
        "StatementStatusEnum": "haven.api.serializers_statements.STATEMENT_STATUSES",
        "CoverKindEnum": "haven.api.serializers_statements.COVER_KINDS",
        "HitSourceEnum": "haven.api.serializers_statements.HIT_SOURCES",
    },
}

# No request body, IP address, Host header or user agent is ever logged: only Django's own
# warnings. A request refused as suspicious (a Host not in HAVEN_ALLOWED_HOSTS...) is logged as
# refused, without what it carried (haven.logs); gunicorn's own log likewise (haven.demo.server).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"suspicious_request": {"()": "haven.logs.SuspiciousRequestFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # A handler's filter also sees records propagated from child loggers
        # (django.security.DisallowedHost...), which a filter on the logger would not.
        "security_console": {
            "class": "logging.StreamHandler",
            "filters": ["suspicious_request"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("HAVEN_LOG_LEVEL", "WARNING")},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["security_console"], "propagate": False},
        "django.server": {"handlers": [], "level": "CRITICAL", "propagate": False},
        # psycopg warns when it ends a pipeline that a refused insert aborted (a form sent
        # twice): expected, and already answered; errors still show.
        "psycopg": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

# Anchors of the audit chain's signed head (`haven audit anchor`), appended to this file and checked
# by every `haven audit verify`: keep it outside the data directory, away from the database.
HAVEN_AUDIT_ANCHOR_FILE = env_optional("HAVEN_AUDIT_ANCHOR_FILE")

HAVEN_OVERDUE_GRACE_HOURS = env_int("HAVEN_OVERDUE_GRACE_HOURS", 0, minimum=0)
# Retention: days after a case reached one of these final states before `haven purge` destroys
# it; states not listed are kept. A case is shown to supervisors for the notice period first.
HAVEN_RETENTION_DAYS = env_days(
    "HAVEN_RETENTION_DAYS",
    {"declined": 90, "duplicate": 90, "withdrawn": 365, "closed": 730},
    allowed={"closed", "declined", "duplicate", "withdrawn", "repatriated", "deceased"},
)
HAVEN_RETENTION_NOTICE_DAYS = env_int("HAVEN_RETENTION_NOTICE_DAYS", 14, minimum=1)
# The erasure store: one 32-byte secret per data key, outside the database, overwritten when the
# key is destroyed (haven.crypto.ErasureStore). Every process writing to the database must share
# it (one host), and it is backed up with the database: without it nothing opens.
HAVEN_ERASURE_STORE = Path(env_str("HAVEN_ERASURE_STORE", str(DATA_DIR / "erasure.keys")))
# Where `haven backup` writes its archives (copy them off the host: README, "Backups").
HAVEN_BACKUP_DIR = Path(env_str("HAVEN_BACKUP_DIR", str(DATA_DIR / "backups")))
HAVEN_PORTAL_URL = env_optional("HAVEN_PORTAL_URL")
HAVEN_API_TOKEN_HOURS = env_int("HAVEN_API_TOKEN_HOURS", 12, minimum=1)
# Argon2id cost for wrapping private keys: 3 passes over 256 MiB, about 0.33 s on the reference
# machine (128 MiB took 0.15 s, under the 0.3-0.5 s aimed for); benchmarks/keys.py prints it.
HAVEN_KDF_OPSLIMIT = env_int("HAVEN_KDF_OPSLIMIT", 3, minimum=1)
HAVEN_KDF_MEMLIMIT = env_int("HAVEN_KDF_MEMLIMIT", 256 * 1024 * 1024, minimum=64 * 1024 * 1024)

# The requester portal (/portal/): see haven.portal and docs/security.md, "The requester portal".
# Per-process, in-memory limits (no client address is ever stored): submissions per minute; and
# wrong receipts (broker access codes apart) per five-digit prefix in ten to twenty minutes, past
# which look-ups under that prefix need a proof-of-work that grows with the failures (or, without
# JavaScript, wait): nobody else is held up (haven.portal.limits).
HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE = env_int("HAVEN_PORTAL_SUBMISSIONS_PER_MINUTE", 600, minimum=1)
HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX = env_int(
    "HAVEN_PORTAL_RECEIPT_FAILURES_PER_PREFIX", 10, minimum=1
)
# Optional proof-of-work (haven.portal.pow): a browser with JavaScript that solves it gets past
# the submission limit, up to the ceiling per process and minute. 0 bits turns it off.
HAVEN_PORTAL_POW_BITS = env_int("HAVEN_PORTAL_POW_BITS", 14, minimum=0)
HAVEN_PORTAL_POW_CEILING_PER_MINUTE = env_int(
    "HAVEN_PORTAL_POW_CEILING_PER_MINUTE", 3000, minimum=1
)
# Portal requests queued whole, sealed to the intake key, and opened by the intake's next pages
# (haven.portal.queue): "off", "on", or "surge" (past this many requests a second in a process).
HAVEN_PORTAL_QUEUE = env_choice("HAVEN_PORTAL_QUEUE", "surge", choices=("off", "surge", "on"))
HAVEN_PORTAL_QUEUE_SURGE_PER_SECOND = env_int("HAVEN_PORTAL_QUEUE_SURGE_PER_SECOND", 5, minimum=1)
# A portal POST larger than this is refused before it is read (well under DATA_UPLOAD_MAX_MEMORY_SIZE).
HAVEN_PORTAL_MAX_BODY_BYTES = env_int("HAVEN_PORTAL_MAX_BODY_BYTES", 200_000, minimum=10_000)
# Argon2id cost of a receipt (1 pass over 8 MiB, about 3.5 ms): run once per submission and per
# visit, so it bounds how many submissions a core can take in a flood; the receipt's 20 digits
# carry the strength (arithmetic: haven.crypto.receipt_keys).
HAVEN_PORTAL_RECEIPT_OPSLIMIT = env_int("HAVEN_PORTAL_RECEIPT_OPSLIMIT", 1, minimum=1)
HAVEN_PORTAL_RECEIPT_MEMLIMIT = env_int(
    "HAVEN_PORTAL_RECEIPT_MEMLIMIT", 8 * 1024 * 1024, minimum=8 * 1024 * 1024
)

"""Settings for the benchmarks: production settings (haven.settings.base, including the production
Argon2id cost), plus the one flag that lets haven.crypto's pass-through mode be switched on.

Only benchmark processes point DJANGO_SETTINGS_MODULE here; no deployment setting reads the flag
from the environment.
"""

from haven.settings.base import *  # noqa: F403

HAVEN_CRYPTO_PASSTHROUGH_FOR_BENCHMARKS = True

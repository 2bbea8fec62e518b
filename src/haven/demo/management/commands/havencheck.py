"""`haven check`: configuration sanity with clear messages; exit status 1 when unsafe."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand

from haven.demo.checks import print_findings, runtime_findings, settings_free_findings


class Command(BaseCommand):
    help = (
        "Check Haven's configuration: keys, data directory, database and migrations, DEBUG, "
        "allowed hosts and HTTPS. Exits with status 1 when something is unsafe."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def handle(self, *args: Any, **options: Any) -> None:
        findings = settings_free_findings(os.environ) + runtime_findings(os.environ)
        if not print_findings(findings, self.stdout):
            sys.exit(1)

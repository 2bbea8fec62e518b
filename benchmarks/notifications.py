"""What the count of notifications in the navigation costs, on every staff page.

    .venv/bin/python benchmarks/notifications.py [--cases 20000] [--database sqlite|postgres]

Seeds one database as benchmarks/caseload.py does (real cryptography; 50 brokers, 20
caseworkers, the cases in bulk), adds messages from requesters to one request in fifty (half of
them answered) and one referral awaiting approval in a hundred cases, then times
``notification_count`` (the navigation's count) for the supervisor, who sees every case, and for
a caseworker, and how many queries it makes. PostgreSQL: HAVEN_BENCH_DATABASE_URL as for
caseload.py (its ``_crypto`` database is dropped and created).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import caseload


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="haven-bench-notes-") as tmp:
        caseload.setup_django(args, Path(tmp))
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.utils import timezone

        caseload.use_database("crypto")
        call_command("migrate", interactive=False, verbosity=0)
        seeded = caseload.seed(n_cases=args.cases, rng=random.Random(1), now=timezone.now())
        extra = add_messages_and_referrals()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        from haven.accounts.models import User
        from haven.notifications.selectors import navigation_count, notification_count

        print(f"{args.database}, {args.cases:,} cases, {extra}; load {os.getloadavg()}")
        for role, name in seeded["users"].items():
            user = User.objects.get(username=name)
            notification_count(user=user)  # who holds which key, read once per process
            with CaptureQueriesContext(connection) as captured:
                count = notification_count(user=user)
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                notification_count(user=user)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            from haven.notifications.selectors import COUNT_CAP, notices

            for notice in notices(user=user):
                start = time.perf_counter()
                for _ in range(20):
                    notice.items.order_by().values("pk")[:COUNT_CAP].count()
                each = (time.perf_counter() - start) / 20 * 1000
                print(f"    {notice.kind:9} {each:.2f} ms")
            print(
                f"  {role:10} count {count:3}  {len(captured.captured_queries)} queries  "
                f"p50 {statistics.median(times):.2f} ms  p95 {times[int(len(times) * 0.95)]:.2f} ms"
            )
            navigation_count(user=user)
            remembered = []
            for _ in range(args.runs):
                start = time.perf_counter()
                navigation_count(user=user)
                remembered.append((time.perf_counter() - start) * 1000)
            remembered.sort()
            print(
                f"  {role:10} remembered (the navigation): p50 {statistics.median(remembered):.2f}"
                f" ms  p95 {remembered[int(len(remembered) * 0.95)]:.2f} ms"
            )
        connection.close()
        if args.database == "postgres":
            from urllib.parse import urlsplit, urlunsplit

            from benchdb import pg_drop

            parts = urlsplit(os.environ.get("HAVEN_BENCH_DATABASE_URL", caseload.DEFAULT_PG))
            pg_drop(urlunsplit(parts._replace(path="/" + caseload.DB_NAMES["crypto"])))
    return 0


def add_messages_and_referrals() -> str:
    """Plain rows only: what the count reads (its queries never open a payload)."""
    import uuid

    from django.utils import timezone

    from haven.cases.models import Case, Request
    from haven.messaging.models import Author, Conversation, Message
    from haven.referrals.models import Partner, Referral, ReferralStatus

    now = timezone.now()
    requests = list(Request.objects.order_by("pk").values_list("pk", "data_key_id")[::50])
    conversations, messages = [], []
    for i, (request_id, key_id) in enumerate(requests):
        conversation = Conversation(
            request_id=request_id,
            data_key_id=key_id,
            party=Author.REQUESTER,
            party_public_key=b"\0" * 32,
            party_sealed=b"",
            created_at=now,
        )
        conversations.append(conversation)
        for j, kind in enumerate([Author.REQUESTER] + ([Author.STAFF] if i % 2 else [])):
            messages.append(
                Message(
                    id=uuid.uuid4(),
                    conversation=conversation,
                    request_id=request_id,
                    author_kind=kind,
                    data_key_id=key_id,
                    payload=b"",
                    created_at=now + timezone.timedelta(minutes=j),
                )
            )
    Conversation.objects.bulk_create(conversations)
    Message.objects.bulk_create(messages)
    partner = Partner.objects.create(name="Bench partner", country="KR")
    cases = list(Case.objects.order_by("pk").values_list("pk", "data_key_id")[::100])
    Referral.objects.bulk_create(
        Referral(
            case_id=case_id,
            data_key_id=key_id,
            partner=partner,
            purpose="relief",
            disclosed_fields=["sex"],
            status=ReferralStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
            payload=b"",
        )
        for case_id, key_id in cases
    )
    return f"{len(messages)} messages on {len(requests)} requests, {len(cases)} referrals awaiting"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())

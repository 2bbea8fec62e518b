import importlib

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

OUTSIDE = ("requester", "broker")
# SQLite adds a NOT NULL column by remaking the table, which drops the tally triggers on it and
# breaks those on vault_grant that read it (0010): they are dropped first and made again after.
_TALLIES = importlib.import_module("haven.cases.migrations.0010_request_tallies")


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def flag_requests_awaiting_a_reply(apps, schema_editor):
    """Set the flag from each request's latest message, as the notice read it before."""
    Request = apps.get_model("cases", "Request")
    Message = apps.get_model("messaging", "Message")
    latest = Subquery(
        Message.objects.filter(request_id=OuterRef("pk"))
        .order_by("-created_at")
        .values("author_kind")[:1]
    )
    written = Message.objects.filter(author_kind__in=OUTSIDE).values("request_id")
    waiting = (
        Request.objects.filter(pk__in=written)
        .annotate(last=latest)
        .filter(last__in=OUTSIDE)
        .values_list("pk", flat=True)
    )
    Request.objects.filter(pk__in=list(waiting)).update(awaiting_reply=True)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_request_tallies"),
        ("messaging", "0002_integrity_tags"),
    ]

    operations = [
        migrations.RunPython(_sqlite(_TALLIES._DROP_SQLITE), _sqlite(_TALLIES._SQLITE)),
        migrations.AddField(
            model_name="request",
            name="awaiting_reply",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="request",
            index=models.Index(
                condition=models.Q(("awaiting_reply", True)),
                fields=["-urgency", "-received_at"],
                name="cases_request_awaiting_idx",
            ),
        ),
        migrations.RunPython(_sqlite(_TALLIES._SQLITE), _sqlite(_TALLIES._DROP_SQLITE)),
        migrations.RunPython(flag_requests_awaiting_a_reply, migrations.RunPython.noop),
    ]

# Hash-chains the audit trail: seq, prev_hash, entry_hash and session on every entry, and the
# single-row chain head. Entries written before this migration are chained in id order.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GENESIS = "0" * 64


def chain_existing_entries(apps, schema_editor):
    from haven.audit.chain import entry_hash

    AuditEntry = apps.get_model("audit", "AuditEntry")
    AuditHead = apps.get_model("audit", "AuditHead")
    db = schema_editor.connection.alias
    seq, prev, at = 0, GENESIS, None
    for entry in AuditEntry.objects.using(db).order_by("id").iterator(chunk_size=2000):
        seq += 1
        entry.seq = seq
        entry.session = ""
        entry.prev_hash = prev
        entry.entry_hash = entry_hash(
            seq=seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            detail=entry.detail,
            session="",
            prev_hash=prev,
        )
        entry.save(update_fields=["seq", "session", "prev_hash", "entry_hash"])
        prev, at = entry.entry_hash, entry.at
    AuditHead.objects.using(db).update_or_create(
        pk=1, defaults={"seq": seq, "entry_hash": prev, "at": at}
    )


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("seq", models.PositiveBigIntegerField(default=0)),
                ("entry_hash", models.CharField(default=GENESIS, max_length=64)),
                ("at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"verbose_name": "audit chain head"},
        ),
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="session",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_entries, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]

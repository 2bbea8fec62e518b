# The chain head carries this server's signature (haven.audit.signing). A head that exists when
# this runs is signed as it stands: whoever upgrades vouches for the chain as it is then (README,
# "Audit trail": verify it against a printed anchor first).

from django.db import migrations, models


def sign_existing_head(apps, schema_editor):
    from haven.audit.signing import head_sign

    AuditHead = apps.get_model("audit", "AuditHead")
    db = schema_editor.connection.alias
    for head in AuditHead.objects.using(db).filter(signature=""):
        head.signature = head_sign(head.seq, head.entry_hash)
        head.save(update_fields=["signature"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_hash_chain")]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="signature",
            field=models.CharField(blank=True, default="", max_length=160),
        ),
        migrations.RunPython(sign_existing_head, migrations.RunPython.noop),
    ]

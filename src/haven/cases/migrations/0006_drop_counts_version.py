# The counts version (0003, 0004) is replaced by counts kept at write time (0005,
# haven.cases.tallies): nothing reads it any more, and on PostgreSQL its row was the one place
# every transaction writing a case or a grant queued on at commit.

import importlib

from django.db import migrations

_DROP_SQLITE = [
    f"DROP TRIGGER IF EXISTS haven_counts_{table}_{event}"
    for table in ("cases_case", "vault_grant")
    for event in ("insert", "delete", "update")
]
_DROP_POSTGRES = [
    "DROP TRIGGER IF EXISTS haven_counts_case ON cases_case",
    "DROP TRIGGER IF EXISTS haven_counts_grant ON vault_grant",
    "DROP FUNCTION IF EXISTS haven_counts_bump()",
]


def _drop(apps, schema_editor):
    statements = {"sqlite": _DROP_SQLITE, "postgresql": _DROP_POSTGRES}
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def _restore(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    first = importlib.import_module("haven.cases.migrations.0003_counts")
    statements = {"sqlite": first._SQLITE, "postgresql": first._POSTGRES}.get(vendor, [])
    if vendor == "postgresql":
        statements = importlib.import_module("haven.cases.migrations.0004_counts_at_commit")._AT_COMMIT
    apps.get_model("cases", "CountsVersion").objects.get_or_create(pk=1)
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_tallies")]

    operations = [
        # Backwards, the model comes back first, then its triggers.
        migrations.RunPython(_drop, _restore),
        migrations.DeleteModel(name="CountsVersion"),
    ]

"""Records indexed before partial search have no partial tokens: mark every person, broker and
group under an organisation with an index key as waiting to be indexed, so that the next
searches of people who hold them add the tokens (``haven keys rotate-index`` does all at once)."""

from django.db import migrations
from django.utils import timezone


def mark_pending(apps, schema_editor):
    SearchIndexKey = apps.get_model("vault", "SearchIndexKey")
    SearchIndexPending = apps.get_model("vault", "SearchIndexPending")
    if not SearchIndexKey.objects.filter(active=True).exists():
        return
    now = timezone.now()
    waiting = set(SearchIndexPending.objects.values_list("data_key_id", flat=True))
    for model in (
        apps.get_model("cases", "Person"),
        apps.get_model("brokers", "Broker"),
        apps.get_model("cases", "Group"),
    ):
        keys = model.objects.exclude(data_key_id__in=waiting).values_list("data_key_id", flat=True)
        SearchIndexPending.objects.bulk_create(
            [SearchIndexPending(data_key_id=key, since=now) for key in keys.iterator()],
            batch_size=1000,
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_drop_counts_version"),
        ("brokers", "0002_brokercredential_brokersession"),
        ("vault", "0008_integrity_tags"),
    ]

    operations = [migrations.RunPython(mark_pending, migrations.RunPython.noop)]

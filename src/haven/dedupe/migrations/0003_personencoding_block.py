from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dedupe", "0002_trained_model"),
    ]

    operations = [
        migrations.AddField(
            model_name="personencoding",
            name="block",
            field=models.BinaryField(default=b""),
        ),
    ]

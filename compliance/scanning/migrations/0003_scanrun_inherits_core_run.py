"""ScanRun inherits core.models.Run: ``created_by`` becomes Run's ``started_by`` (same table, the
column is renamed; the values are kept), ``error`` loses its own help text. The status values were
already the one run vocabulary (0002), so no status value changes and no data migration is needed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scanning", "0002_scan_status_vocabulary"),
    ]

    operations = [
        migrations.RenameField(model_name="scanrun", old_name="created_by", new_name="started_by"),
        migrations.AlterField(model_name="scanrun", name="error", field=models.TextField(blank=True)),
    ]

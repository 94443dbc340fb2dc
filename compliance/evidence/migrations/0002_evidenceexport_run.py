"""EvidenceExport becomes a core ``Run``: ``requested_by`` is now the Run's ``started_by`` (state
only: the column stays ``requested_by_id``), status takes the one run vocabulary (adds
``cancelled``; every stored value is unchanged), help texts follow the base model."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0001_evidence_export"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="evidenceexport", name="requested_by"),
                migrations.AddField(
                    model_name="evidenceexport",
                    name="started_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="requested_by_id",
                        help_text="Who asked for the export (empty: a system component, named in requested_by_name).",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RemoveConstraint(model_name="evidenceexport", name="evidence_export_status_valid"),
        migrations.AlterField(model_name="evidenceexport", name="error", field=models.TextField(blank=True)),
        migrations.AlterField(
            model_name="evidenceexport",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "queued"),
                    ("running", "running"),
                    ("succeeded", "succeeded"),
                    ("failed", "failed"),
                    ("cancelled", "cancelled"),
                ],
                db_index=True,
                default="queued",
                max_length=16,
            ),
        ),
        migrations.AddConstraint(
            model_name="evidenceexport",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "running", "succeeded", "failed", "cancelled"])),
                name="evidence_export_status_valid",
            ),
        ),
    ]

"""The Merkle ledger: event bodies and leaf hashes, the pending queue, log entries, stored
subtrees and checkpoints. Events recorded before this migration (development databases only)
get an empty body, which ``audit_verify`` reports; a fresh database has none."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="body",
            field=models.BinaryField(default=b"", help_text="Canonical JSON (RFC 8785) bytes, hashed as the Merkle leaf."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="leaf_hash",
            field=models.BinaryField(default=b"", help_text="SHA-256(0x00 || body).", max_length=32),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="PendingEvent",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={"ordering": ["event_id"]},
        ),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("body", models.BinaryField()),
                ("leaf_hash", models.BinaryField(max_length=32)),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="entry", to="audit.auditevent"
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "ledger entries",
                "ordering": ["seq"],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("seq__gte", 0)), name="audit_ledgerentry_seq_non_negative")
                ],
            },
        ),
        migrations.CreateModel(
            name="LedgerNode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level", models.PositiveSmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("hash", models.BinaryField(max_length=32)),
            ],
            options={
                "ordering": ["level", "index"],
                "constraints": [
                    models.UniqueConstraint(fields=("level", "index"), name="audit_ledgernode_unique_position"),
                    models.CheckConstraint(condition=models.Q(("level__gte", 4)), name="audit_ledgernode_stored_levels"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Checkpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tree_size", models.BigIntegerField(unique=True)),
                ("root_hash", models.BinaryField(max_length=32)),
                ("note", models.TextField()),
                ("key_id", models.CharField(max_length=8)),
                ("created_at", models.DateTimeField()),
            ],
            options={"ordering": ["tree_size"], "get_latest_by": "tree_size"},
        ),
    ]

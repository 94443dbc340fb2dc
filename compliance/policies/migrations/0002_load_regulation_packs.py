"""Reference data: the built-in regulation packs (GDPR, HIPAA, CCPA) from compliance/policies/packs/*.json.

A later pack version ships as a new data migration calling the same loader (it updates in place
and keeps organisation overrides)."""

from django.db import migrations


def load(apps, schema_editor):
    from compliance.policies.pack_loader import load_builtin

    load_builtin(apps)


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_packs_policies_findings")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

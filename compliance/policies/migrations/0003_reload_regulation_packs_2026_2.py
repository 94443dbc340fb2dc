"""Reference data: regulation packs 2026.2 (model rules read upstream lineage; GDPR profiling DPIA
rule; HIPAA identifiers are PHI in a health context). Reloads in place, keeping overrides."""

from django.db import migrations


def load(apps, schema_editor):
    from compliance.policies.pack_loader import load_builtin

    load_builtin(apps)


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_load_regulation_packs")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

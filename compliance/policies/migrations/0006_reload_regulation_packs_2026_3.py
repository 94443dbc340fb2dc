"""Reference data: regulation packs 2026.3 (European national identification numbers found by the
scanner -- ES NIF/NIE, IT codice fiscale, PL PESEL, FI HETU, DE Steuer-IdNr, UK NINO -- are GDPR
national identification numbers (Art. 4(1), Art. 87), HIPAA unique identifying numbers and CCPA
identifiers / sensitive personal information). Reloads in place, keeping overrides."""

from django.db import migrations


def load(apps, schema_editor):
    from compliance.policies.pack_loader import load_builtin

    load_builtin(apps)


class Migration(migrations.Migration):
    dependencies = [("policies", "0005_runs_inherit_core_run")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

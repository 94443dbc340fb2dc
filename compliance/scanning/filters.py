"""FilterSets of PII scanning (API list and pages)."""

import django_filters

from compliance.scanning.choices import ScanStatus
from compliance.scanning.models import ScanRun


class ScanRunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ScanStatus.choices)
    asset = django_filters.NumberFilter(field_name="asset_id")

    class Meta:
        model = ScanRun
        fields = ["status", "asset"]

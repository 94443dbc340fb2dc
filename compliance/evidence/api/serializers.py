"""Evidence export API shapes: what a client may ask for, and what it sees of an export."""

from __future__ import annotations

from rest_framework import serializers

from compliance.evidence.models import EvidenceExport
from compliance.evidence.periods import period_bound


class PeriodBoundField(serializers.DateTimeField):
    """An ISO 8601 date-time, or a bare date naming the whole day (compliance.evidence.periods)."""

    def __init__(self, *, end_of_day: bool, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return period_bound(value, end_of_day=self.end_of_day)
            except ValueError:
                self.fail("invalid", format="YYYY-MM-DD or an ISO 8601 date-time")
        return super().to_internal_value(value)


class ExportRequestSerializer(serializers.Serializer):
    period_from = PeriodBoundField(end_of_day=False, required=False, allow_null=True, default=None)
    period_to = PeriodBoundField(end_of_day=True, required=False, allow_null=True, default=None)
    regulation = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)
    asset_ids = serializers.ListField(
        # an id beyond a signed 64-bit integer names nothing (and overflows SQLite: a 500 before)
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        default=list,
        max_length=10_000,
    )

    def validate(self, attrs):
        if attrs["period_from"] and attrs["period_to"] and attrs["period_from"] > attrs["period_to"]:
            raise serializers.ValidationError({"period_to": "the period ends before it starts"})
        return attrs


class EvidenceExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceExport
        fields = [
            "id",
            "status",
            "progress",
            "stage",
            "error",
            "requested_by_name",
            "requested_at",
            "started_at",
            "finished_at",
            "period_from",
            "period_to",
            "as_of",
            "regulation",
            "asset_ids",
            "size",
            "sha256",
            "manifest_sha256",
            "first_seq",
            "end_seq",
            "verifier_key",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj) -> str | None:
        if obj.status != "succeeded":
            return None
        request = self.context.get("request")
        path = f"/api/v1/evidence/exports/{obj.pk}/download"
        return request.build_absolute_uri(path) if request else path

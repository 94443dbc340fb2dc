"""API shapes of PII scanning."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import DataAsset
from compliance.scanning.models import ScanRun


class ScanRunSerializer(serializers.ModelSerializer):
    # the API has always called the starter ``created_by``; the model field is core.Run's ``started_by``
    created_by = serializers.SlugRelatedField(source="started_by", slug_field="username", read_only=True)
    # a plain string in the schema: another "status" enum would collide in drf-spectacular's naming
    status = serializers.CharField(read_only=True, help_text="queued, running, succeeded, failed or cancelled")

    class Meta:
        model = ScanRun
        fields = [
            "id",
            "asset",
            "location",
            "status",
            "progress",
            "sample_size",
            "seed",
            "column_hints",
            "rows_total",
            "rows_scanned",
            "rows_sampled",
            "chunks_total",
            "chunks_done",
            "classifications_written",
            "error",
            "findings",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "seconds",
        ]
        read_only_fields = fields


class ScanStartSerializer(serializers.Serializer):
    """Start a scan of a cataloged asset (``asset``) or of a file under the configured scan roots (``location``)."""

    asset = serializers.PrimaryKeyRelatedField(queryset=DataAsset.objects.all(), required=False, allow_null=True)
    location = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    sample_size = serializers.IntegerField(required=False, default=1000, min_value=1, max_value=100_000)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**62)
    column_hints = serializers.BooleanField(required=False, default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["asset"].queryset = DataAsset.objects.restrict(request.user, "view")

    def validate(self, attrs):
        from compliance.datasets import LocationRefused, resolve

        if not attrs.get("asset") and not attrs.get("location"):
            raise serializers.ValidationError("give an asset or a location")
        if attrs.get("asset") and attrs.get("location"):
            raise serializers.ValidationError("give an asset or a location, not both (an asset is read where it lives)")
        location = attrs.get("location")
        if location:
            try:
                resolve(location)
            except LocationRefused as exc:
                raise serializers.ValidationError({"location": exc.messages}) from None
        return attrs


class ScanCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

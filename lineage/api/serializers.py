"""Serializers of the lineage API's read endpoints (explicit fields)."""

from __future__ import annotations

from rest_framework import serializers

from lineage.models import Job, LineageEvent, Run


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "namespace", "name", "description", "job_type", "sql", "parent", "facets", "created_at", "updated_at"]


class RunSerializer(serializers.ModelSerializer):
    job_namespace = serializers.CharField(source="job.namespace", read_only=True)
    job_name = serializers.CharField(source="job.name", read_only=True)

    class Meta:
        model = Run
        fields = [
            "id",
            "run_id",
            "job",
            "job_namespace",
            "job_name",
            "state",
            "started_at",
            "ended_at",
            "last_event_time",
            "producer",
            "submitted_by",
            "sql",
            "code_location",
            "parent_run_id",
            "facets",
            "created_at",
        ]


class LineageEventSerializer(serializers.ModelSerializer):
    """A raw event as received (``payload``), with what intake pulled out of it."""

    class Meta:
        model = LineageEvent
        fields = [
            "id",
            "kind",
            "event_type",
            "event_time",
            "received_at",
            "run_id",
            "job_namespace",
            "job_name",
            "producer",
            "digest",
            "payload",
        ]

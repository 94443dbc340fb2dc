"""Read-only shapes of ledger data. Hashes and bodies are standard base64."""

from __future__ import annotations

from rest_framework import serializers

from audit.canonical import to_micros
from audit.models import AuditEvent
from audit.verify_core import b64


class AuditEventSerializer(serializers.ModelSerializer):
    seq = serializers.SerializerMethodField(help_text="Position in the log; null while pending.")
    time_us = serializers.SerializerMethodField(help_text="UTC microseconds since the epoch, as in the body.")
    body = serializers.SerializerMethodField(help_text="Base64 of the exact hashed bytes (canonical JSON).")
    leaf_hash = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "occurred_at",
            "time_us",
            "actor_type",
            "actor_id",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "reason",
            "details",
            "body",
            "leaf_hash",
        ]
        read_only_fields = fields

    def get_seq(self, obj: AuditEvent) -> int | None:
        return obj.seq

    def get_time_us(self, obj: AuditEvent) -> int:
        return to_micros(obj.occurred_at)

    def get_body(self, obj: AuditEvent) -> str:
        return b64(bytes(obj.body))

    def get_leaf_hash(self, obj: AuditEvent) -> str:
        return b64(bytes(obj.leaf_hash))


class InclusionProofSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    root_hash = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root = serializers.CharField()
    second_root = serializers.CharField()
    proof = serializers.ListField(child=serializers.CharField())

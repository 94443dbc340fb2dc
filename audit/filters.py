"""The event FilterSet, shared by the API list (and any future page)."""

from __future__ import annotations

import django_filters as filters

from audit.choices import ActorType
from audit.models import AuditEvent


class AuditEventFilterSet(filters.FilterSet):
    action = filters.CharFilter(help_text="Exact dotted action, e.g. catalog.asset.register")
    action_prefix = filters.CharFilter(field_name="action", lookup_expr="startswith", help_text="e.g. catalog.asset.")
    actor_type = filters.ChoiceFilter(choices=ActorType.choices)
    actor_id = filters.CharFilter()
    target_type = filters.CharFilter()
    target_id = filters.CharFilter()
    since = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    seq_from = filters.NumberFilter(field_name="entry__seq", lookup_expr="gte")
    seq_to = filters.NumberFilter(field_name="entry__seq", lookup_expr="lte")
    pending = filters.BooleanFilter(field_name="entry", lookup_expr="isnull", help_text="true: not yet in the log")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor_type", "actor_id", "target_type", "target_id"]

"""One FilterSet per model for the lineage API lists: jobs, runs and raw OpenLineage events,
filterable by namespace, job, state and time (times are RFC 3339, as everywhere in lineage)."""

from __future__ import annotations

import django_filters as filters
from rest_framework.exceptions import ValidationError

from lineage.choices import EventKind, RunState
from lineage.models import Job, LineageEvent, Run
from lineage.openlineage import EventInvalid, parse_time


class RFC3339Filter(filters.CharFilter):
    """A time bound given as RFC 3339 (``2025-01-31T00:00:00Z``); anything else is a 400."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        try:
            moment = parse_time(value, self.field_name)
        except EventInvalid as exc:
            raise ValidationError({self.field_name: str(exc)}) from None
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": moment})


class JobFilterSet(filters.FilterSet):
    namespace = filters.CharFilter()
    name = filters.CharFilter(lookup_expr="icontains", label="Text in the job name")
    updated_after = RFC3339Filter(field_name="updated_at", lookup_expr="gte")
    updated_before = RFC3339Filter(field_name="updated_at", lookup_expr="lt")

    class Meta:
        model = Job
        fields = ["namespace", "name", "parent"]


class RunFilterSet(filters.FilterSet):
    namespace = filters.CharFilter(field_name="job__namespace", label="Job namespace")
    job = filters.CharFilter(field_name="job__name", label="Job name (exact)")
    job_id = filters.NumberFilter(field_name="job_id")
    state = filters.MultipleChoiceFilter(choices=RunState.choices)
    since = RFC3339Filter(field_name="last_event_time", lookup_expr="gte", label="Newest event at or after (RFC 3339)")
    until = RFC3339Filter(field_name="last_event_time", lookup_expr="lt", label="Newest event before (RFC 3339)")

    class Meta:
        model = Run
        fields = ["namespace", "job", "job_id", "state"]


class LineageEventFilterSet(filters.FilterSet):
    namespace = filters.CharFilter(field_name="job_namespace", label="Job namespace")
    job = filters.CharFilter(field_name="job_name", label="Job name (exact)")
    run_id = filters.UUIDFilter(field_name="run_id")
    kind = filters.MultipleChoiceFilter(choices=EventKind.choices)
    state = filters.MultipleChoiceFilter(field_name="event_type", choices=RunState.choices, label="eventType")
    since = RFC3339Filter(field_name="event_time", lookup_expr="gte", label="eventTime at or after (RFC 3339)")
    until = RFC3339Filter(field_name="event_time", lookup_expr="lt", label="eventTime before (RFC 3339)")

    class Meta:
        model = LineageEvent
        fields = ["namespace", "job", "run_id", "kind", "state"]

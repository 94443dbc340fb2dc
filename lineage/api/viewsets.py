"""Read endpoints for jobs, runs and raw OpenLineage events (``/api/v1/lineage/jobs``, ``/runs``,
``/events``), on core's restricted base viewset: every list and detail goes through
``restrict(user, "view")``, which hides from a user without ``view_restricted`` the jobs that read
or wrote a restricted asset, their runs and events, and DatasetEvents about one
(``lineage.models.Job.restricted_q``). Filters: :mod:`lineage.filters`."""

from __future__ import annotations

from core.api.viewsets import RestrictedReadOnlyModelViewSet
from lineage.api.serializers import JobSerializer, LineageEventSerializer, RunSerializer
from lineage.filters import JobFilterSet, LineageEventFilterSet, RunFilterSet
from lineage.models import Job, LineageEvent, Run


class JobViewSet(RestrictedReadOnlyModelViewSet):
    queryset = Job.objects.all()
    serializer_class = JobSerializer
    filterset_class = JobFilterSet
    ordering_fields = ["namespace", "name", "updated_at"]


class RunViewSet(RestrictedReadOnlyModelViewSet):
    queryset = Run.objects.select_related("job")
    serializer_class = RunSerializer
    filterset_class = RunFilterSet
    ordering_fields = ["last_event_time", "started_at", "ended_at"]


class LineageEventViewSet(RestrictedReadOnlyModelViewSet):
    queryset = LineageEvent.objects.all()
    serializer_class = LineageEventSerializer
    filterset_class = LineageEventFilterSet
    ordering_fields = ["event_time", "received_at"]

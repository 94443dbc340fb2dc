"""The provenance graph, stored in the database (the source of truth).

Nodes are catalog rows (assets, columns, model versions) and the :class:`Job` and :class:`Run`
rows here; an :class:`Edge` links two of them by type and id. Edges are never updated in
place when what they say changes: the old row gets ``valid_to`` and a new row starts, so the
graph as of any date can be rebuilt. :class:`GraphState` holds one monotonically increasing
version that every graph write bumps; each process's networkx cache compares it to know when
to load the edges changed since (``Edge.changed_version``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from catalog.choices import Sensitivity
from catalog.models import DataAsset
from core.querysets import RestrictedQuerySet
from lineage.choices import INDIRECT, EdgeKind, EventKind, NodeType, Propagation, RunState


class GraphState(models.Model):
    """The single row (pk=1) whose ``version`` grows with every committed graph write."""

    version = models.BigIntegerField(default=0)
    stamp = models.CharField(max_length=32, blank=True, help_text="Random per bump: detects a version reused after a rollback.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"graph v{self.version}"


def _restricted_asset_ids():
    return DataAsset.objects.filter(sensitivity=Sensitivity.RESTRICTED).values("pk")


def _touches_restricted(job_ref: str) -> Exists:
    """Whether the job ``job_ref`` (an OuterRef path) ever read or wrote a restricted asset."""
    restricted = _restricted_asset_ids()
    return Exists(
        Edge.objects.filter(job_id=OuterRef(job_ref)).filter(
            Q(src_type=NodeType.ASSET, src_id__in=restricted) | Q(dst_type=NodeType.ASSET, dst_id__in=restricted)
        )
    )


class Job(models.Model):
    """An OpenLineage job (``namespace`` + ``name``): a pipeline task that reads and writes datasets.

    Scoping (``restrict``): a job that ever read or wrote a restricted asset is restricted -- its
    runs and raw events name that asset -- so a user without ``view_restricted`` does not see it."""

    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    job_type = models.CharField(max_length=32, blank=True, help_text="jobType facet: BATCH/STREAMING + integration.")
    sql = models.TextField(blank=True, help_text="Latest SQL seen in the sql facet.")
    owners = models.JSONField(default=list, blank=True, help_text="ownership facet owners: [{name, type}].")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    facets = models.JSONField(default=dict, blank=True, help_text="Latest facet of each name, unknown ones included.")
    facet_times = models.JSONField(default=dict, blank=True, help_text="Event time each facet was taken from (newest wins).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="lineage_job_unique")]

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}"

    @classmethod
    def restricted_q(cls) -> Q:
        return Q(_touches_restricted("pk"))


class Run(models.Model):
    """One execution of a job (OpenLineage ``runId``), merged from all its events in any order."""

    run_id = models.UUIDField(unique=True)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="runs")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.OTHER)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_event_time = models.DateTimeField(help_text="Time of the newest event merged so far.")
    producer = models.CharField(max_length=500, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True, help_text="User or service that sent the events.")
    sql = models.TextField(blank=True, help_text="SQL the run executed (sql job facet).")
    code_location = models.CharField(max_length=1000, blank=True, help_text="sourceCodeLocation facet URL.")
    parent_run_id = models.UUIDField(null=True, blank=True)
    facets = models.JSONField(default=dict, blank=True)
    facet_times = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-last_event_time"]
        constraints = [models.CheckConstraint(condition=Q(state__in=RunState.values), name="lineage_run_state_valid")]

    def __str__(self) -> str:
        return f"run {self.run_id} of {self.job_id}"

    @classmethod
    def restricted_q(cls) -> Q:
        """A run of a restricted job (see :class:`Job`)."""
        return Q(_touches_restricted("job_id"))


class LineageEvent(models.Model):
    """A raw OpenLineage event as received: append-only, one row per distinct payload."""

    kind = models.CharField(max_length=8, choices=EventKind.choices)
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    job_namespace = models.CharField(max_length=500, blank=True)
    job_name = models.CharField(max_length=500, blank=True)
    producer = models.CharField(max_length=500, blank=True)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the canonical payload: duplicates land once.")
    payload = models.JSONField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="lineage_event_kind_valid")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_type} {self.event_time:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def restricted_q(cls) -> Q:
        """An event of a restricted job (see :class:`Job`), or a DatasetEvent about a restricted
        asset (by its dataset's namespace and name, or an alias of it)."""
        jobs = Job.objects.filter(namespace=OuterRef("job_namespace"), name=OuterRef("job_name")).filter(
            _touches_restricted("pk")
        )
        # the payload's dataset namespace and name as text (jsonb on PostgreSQL, JSON text on SQLite)
        namespace = KeyTextTransform("namespace", KeyTransform("dataset", OuterRef("payload")))
        name = KeyTextTransform("name", KeyTransform("dataset", OuterRef("payload")))
        restricted = DataAsset.objects.filter(sensitivity=Sensitivity.RESTRICTED)
        direct = restricted.filter(source__namespace=namespace, qualified_name=name)
        aliased = DatasetAlias.objects.filter(asset__sensitivity=Sensitivity.RESTRICTED, namespace=namespace, name=name)
        return Q(Exists(jobs)) | Q(kind=EventKind.DATASET) & (Q(Exists(direct)) | Q(Exists(aliased)))


class DatasetFacets(models.Model):
    """The latest OpenLineage facets seen for an asset, by facet name (unknown facets kept)."""

    asset = models.OneToOneField(DataAsset, on_delete=models.CASCADE, related_name="lineage_facets")
    facets = models.JSONField(default=dict, blank=True)
    facet_times = models.JSONField(default=dict, blank=True)
    # documentation facet -> asset description: what intake last wrote, so a steward's own text
    # (anything else) is never overwritten; the facet's text then waits as a suggestion.
    applied_description = models.TextField(blank=True, help_text="Description last written from the documentation facet.")
    suggested_description = models.TextField(
        blank=True, help_text="documentation facet text not applied because a steward wrote the description."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id"]
        verbose_name_plural = "dataset facets"

    def __str__(self) -> str:
        return f"facets of asset {self.asset_id}"


class DatasetAlias(models.Model):
    """Another OpenLineage identifier (``namespace`` + ``name``) of an asset, from a dataset's
    ``symlinks`` facet: a job writing ``s3://bucket/path`` and another reading the Hive table that
    names it meet on one asset. An identifier is an alias or an asset of its own, never both; an
    alias names exactly one asset."""

    namespace = models.CharField(max_length=500)
    name = models.CharField(max_length=500)
    asset = models.ForeignKey(DataAsset, on_delete=models.CASCADE, related_name="lineage_aliases")
    kind = models.CharField(max_length=64, blank=True, help_text="The symlink identifier's type (TABLE, ...).")
    producer = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace", "name"]
        verbose_name_plural = "dataset aliases"
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="lineage_alias_unique")]

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name} -> asset {self.asset_id}"


def edge_stops(kind: str, masking: bool, propagation: str, transformation_type: str = "") -> bool:
    """Whether PII propagation stops at an edge: a steward's ``block`` or ``masked`` always stops
    and ``allow`` never does; otherwise an edge stops when it masks, anonymizes, or is an OpenLineage
    ``INDIRECT`` transformation (filter, join key, group by, sort: the output value is affected
    by the input, not derived from it, so no personal data flows along it)."""
    if propagation in (Propagation.BLOCK, Propagation.MASKED):
        return True
    if propagation == Propagation.ALLOW:
        return False
    return masking or kind == EdgeKind.ANONYMIZED or transformation_type.upper() == INDIRECT


class Edge(models.Model):
    """A directed provenance edge, with who/what/when made it and when it stopped being true.

    ``run`` is the first run that asserted it, ``last_run`` the latest; ``actor`` the user or
    component that wrote it and ``producer`` the OpenLineage producer URI. Column derivations keep
    every transformation sent (``transformations``) and summarise them in ``transformation_type``,
    ``transformation_subtype``, ``description`` and ``masking`` by the safe-side rule of
    :mod:`lineage.transformations` (one unmasked DIRECT transformation carries PII); propagation of
    PII stops at masking edges unless a steward sets ``propagation`` to ``allow`` (or stops anywhere
    with ``block`` or ``masked``).
    """

    kind = models.CharField(max_length=16, choices=EdgeKind.choices)
    src_type = models.CharField(max_length=16, choices=NodeType.choices)
    src_id = models.BigIntegerField()
    dst_type = models.CharField(max_length=16, choices=NodeType.choices)
    dst_id = models.BigIntegerField()
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="edges")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transformation_type = models.CharField(max_length=32, blank=True)
    transformation_subtype = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)
    masking = models.BooleanField(default=False, help_text="Every DIRECT transformation masks (lineage.transformations).")
    transformations = models.JSONField(
        default=list, blank=True, help_text="Every transformation sent: [{type, subtype, description, masking}]."
    )
    propagation = models.CharField(max_length=8, choices=Propagation.choices, default=Propagation.AUTO)
    producer = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    details = models.JSONField(default=dict, blank=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField()
    changed_version = models.BigIntegerField(
        db_index=True, help_text="GraphState.version of the write that created or closed it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "src_type", "src_id", "dst_type", "dst_id"],
                condition=Q(valid_to__isnull=True),
                name="lineage_edge_one_current",
            ),
            models.CheckConstraint(condition=Q(kind__in=EdgeKind.values), name="lineage_edge_kind_valid"),
            models.CheckConstraint(condition=Q(propagation__in=Propagation.values), name="lineage_edge_propagation_valid"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")), name="lineage_edge_valid_range"
            ),
        ]
        indexes = [
            models.Index(fields=["src_type", "src_id"], name="lineage_edge_src"),
            models.Index(fields=["dst_type", "dst_id"], name="lineage_edge_dst"),
            models.Index(fields=["job", "kind"], name="lineage_edge_job_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.src_type}:{self.src_id} -{self.kind}-> {self.dst_type}:{self.dst_id}"

    @property
    def src_key(self) -> str:
        return f"{self.src_type}:{self.src_id}"

    @property
    def dst_key(self) -> str:
        return f"{self.dst_type}:{self.dst_id}"

    @property
    def stops_propagation(self) -> bool:
        return edge_stops(self.kind, self.masking, self.propagation, self.transformation_type)

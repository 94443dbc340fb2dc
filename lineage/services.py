"""Every write to the provenance graph. Each service validates, writes and appends its audit
event in one transaction, bumps :class:`GraphState` (so every process's graph cache sees the
change) and takes the acting user or component as ``actor``.

Edges are never edited in place when what they assert changes: the current row is closed
(``valid_to``) and a new one opened, which keeps the graph as of any date reconstructible.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.permissions import ADD, CHANGE, DECIDE, require
from audit.services import actor_fields, record
from catalog.models import Column, DataAsset, ModelVersion
from core.bulk import rows_insert, rows_update
from core.types import Actor
from lineage.choices import EdgeKind, NodeType, Propagation
from lineage.models import Edge, GraphState, Job, Run

# Attributes that make an edge say something different: a change closes the old row.
MEANING_FIELDS = ("transformation_type", "transformation_subtype", "description", "masking", "transformations")
# Columns a batch never reads on the rows it loads into an EdgeIndex (details: a JSON decode per row).
INDEX_UNREAD = ("details", "producer", "actor", "created_at")


def actor_name(actor: Actor | str) -> str:
    return actor_fields(actor)["actor_name"][:150]


def check_actor(actor: Actor | str, action: str, what: str) -> None:
    """The permission check every lineage service starts with.

    A user is checked against the role matrix (``accounts.permissions.require``: PermissionDenied
    naming the role). A Custos component (a ``"custos:..."`` name, e.g. the catalog-signal
    receivers) acts only in reaction to a write whose own service already checked its user, and
    no entry point (API, admin, command, task) passes one.
    """
    if isinstance(actor, str) and actor.startswith("custos:"):
        return
    require(actor, action, what)


def graph_version_bump() -> int:
    """Increment the graph version inside the caller's transaction and return the new value.

    The row lock taken by the upsert orders concurrent writers, so versions commit in order.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("graph_version_bump() must run inside transaction.atomic()")
    stamp = uuid.uuid4().hex
    now = timezone.now()
    from lineage.graph import cache

    cache.mark_dirty_on_commit()
    table = GraphState._meta.db_table
    # One statement whether or not the row exists yet (PostgreSQL; SQLite >= 3.35): an UPDATE then
    # a create raced on an empty database, where two first writers both missed the row and one
    # failed on the duplicate key (a 409 to a producer's first events).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, version, stamp, updated_at) VALUES (1, 1, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET version = "
            f"{table}.version + 1, stamp = excluded.stamp, updated_at = excluded.updated_at RETURNING version",
            [stamp, now],
        )
        return cursor.fetchone()[0]


@dataclass
class EdgeSpec:
    """One edge a write wants to be true from ``at`` on."""

    kind: str
    src_type: str
    src_id: int
    dst_type: str
    dst_id: int
    transformation_type: str = ""
    transformation_subtype: str = ""
    description: str = ""
    masking: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    # Every transformation of a column edge, as lineage.transformations.normalise gives them.
    transformations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int, str, int]:
        return (self.kind, self.src_type, self.src_id, self.dst_type, self.dst_id)


@dataclass
class EdgeChanges:
    created: list[Edge] = field(default_factory=list)
    closed: list[Edge] = field(default_factory=list)
    seen: int = 0

    def __iadd__(self, other: EdgeChanges) -> EdgeChanges:
        self.created += other.created
        self.closed += other.closed
        self.seen += other.seen
        return self


def _edge_key(edge: Edge) -> tuple[str, str, int, str, int]:
    return (edge.kind, edge.src_type, edge.src_id, edge.dst_type, edge.dst_id)


class EdgeIndex:
    """The edges a batch of writes reads, loaded with a few queries and kept current in memory,
    and the writes to them, held until :meth:`flush`.

    For one transaction in which only :func:`edges_assert` / :func:`edges_close` (given this
    index) change edges: it holds every row of the loaded source nodes that is current or closed
    after ``since`` (the earliest time the batch asserts), and every current row of the loaded
    jobs, one object per row, updated in place by the writes, plus the batch's new rows (not
    inserted yet). Lookups give what the queries would have returned had each write gone to the
    database at once. :meth:`flush` then writes everything with a few bulk statements; call it
    before anything reads edges from the database (and after the runs the new rows point to are
    saved).
    """

    # The columns each kind of write changes on an existing row.
    CLOSE = ("valid_to", "changed_version")
    REFRESH = ("last_seen_at", "last_run")
    WIDEN = ("valid_from", "run", "changed_version")

    def __init__(self, *, since: datetime):
        self.since = since
        self.rows: dict[int, Edge] = {}
        self.by_src: dict[tuple[str, int], list[Edge]] = {}
        self.by_job: dict[int, list[Edge]] = {}
        self.srcs: set[tuple[str, int]] = set()
        self.jobs: set[int] = set()
        self.new: list[Edge] = []  # created by the batch, inserted by flush() in this order
        self.changed: dict[int, tuple[Edge, set[str]]] = {}  # existing row id -> (row, changed fields)

    def create(self, edges: Iterable[Edge]) -> None:
        for edge in edges:
            edge._index_order = len(self.new)  # its place among the new rows (they get ids in this order)
            self.new.append(edge)
            self.add(edge)

    def touch(self, edge: Edge, fields: Iterable[str]) -> None:
        """Note that ``fields`` of ``edge`` changed (a new row is inserted as it ends up)."""
        if edge.pk is not None:
            self.changed.setdefault(edge.pk, (edge, set()))[1].update(fields)

    def flush(self) -> None:
        """Write the held changes: one UPDATE per set of changed columns, then one INSERT of the
        new rows (after the closes, so a replaced row is no longer current when its successor lands)."""
        groups: dict[tuple[str, ...], list[Edge]] = {}
        for edge, fields in self.changed.values():
            groups.setdefault(tuple(sorted(fields)), []).append(edge)
        for fields, edges in groups.items():
            rows_update(edges, fields)
        self.changed.clear()
        if self.new:
            rows_insert(self.new)
            for edge in self.new:
                self.rows[edge.pk] = edge
            self.new = []

    @staticmethod
    def _order(edge: Edge) -> tuple[int, int]:
        # Existing rows by id, then the new ones in creation order: the order of ids once inserted.
        return (0, edge.pk) if edge.pk is not None else (1, edge._index_order)

    def load(self, *, srcs: Iterable[tuple[str, int]] = (), jobs: Iterable[int] = ()) -> None:
        """Read the rows of source nodes and jobs not loaded yet (one query for each kind)."""
        srcs = set(srcs) - self.srcs
        jobs = set(jobs) - self.jobs
        if srcs:
            src_q = Q()
            for src_type in {t for t, _ in srcs}:
                src_q |= Q(src_type=src_type, src_id__in=sorted(i for t, i in srcs if t == src_type))
            for edge in (
                Edge.objects.filter(src_q).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=self.since)).defer(*INDEX_UNREAD)
            ):
                self.add(edge)
            self.srcs |= srcs
        if jobs:
            for edge in Edge.objects.filter(job_id__in=sorted(jobs), valid_to__isnull=True).defer(*INDEX_UNREAD):
                self.add(edge)
            self.jobs |= jobs

    def add(self, edge: Edge) -> None:
        if edge.pk is not None:
            if edge.pk in self.rows:
                return
            self.rows[edge.pk] = edge
        self.by_src.setdefault((edge.src_type, edge.src_id), []).append(edge)
        if edge.job_id is not None:
            self.by_job.setdefault(edge.job_id, []).append(edge)

    def for_specs(self, specs: Sequence[EdgeSpec], at: datetime) -> list[Edge]:
        """Rows of the specs' source nodes and kinds that are current or closed after ``at``, by id."""
        nodes = {(s.src_type, s.src_id) for s in specs}
        self.load(srcs=nodes)
        kinds = {s.kind for s in specs}
        rows = [
            e for node in nodes for e in self.by_src.get(node, ()) if e.kind in kinds and (e.valid_to is None or e.valid_to > at)
        ]
        return sorted(rows, key=self._order)

    def current_of_job(self, job_id: int) -> list[Edge]:
        """The job's current rows, by id."""
        self.load(jobs={job_id})
        return sorted((e for e in self.by_job.get(job_id, ()) if e.valid_to is None), key=self._order)


def edges_assert(
    *,
    specs: Sequence[EdgeSpec],
    at: datetime,
    version: int,
    actor: Actor | str,
    job: Job | None = None,
    run: Run | None = None,
    producer: str = "",
    index: EdgeIndex | None = None,
) -> EdgeChanges:
    """Make ``specs`` true from ``at``: create missing edges, refresh seen ones, replace changed ones.

    Mechanics for the services below (no audit event of its own: the calling service records one).
    Idempotent: asserting the same edge again only moves ``last_seen_at``/``last_run`` forward. An
    assertion older than a closure (events out of order) widens the closed row's history instead
    of reopening it. With ``index`` (a batch of writes), rows are read from and kept in it, and
    the writes held there until ``index.flush()``; ``changes.created`` then holds unsaved rows.
    """
    changes = EdgeChanges()
    if not specs:
        return changes
    wanted = {spec.key: spec for spec in specs}
    if index is not None:
        rows: Iterable[Edge] = index.for_specs(specs, at)
    else:
        src_q = Q()
        for src_type in {s.src_type for s in specs}:
            src_q |= Q(src_type=src_type, src_id__in={s.src_id for s in specs if s.src_type == src_type})
        rows = Edge.objects.filter(src_q, kind__in={s.kind for s in specs}).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
    current: dict[tuple, Edge] = {}
    later_closed: dict[tuple, Edge] = {}
    for edge in rows:
        key = _edge_key(edge)
        if key not in wanted:
            continue
        if edge.valid_to is None:
            current[key] = edge
        else:
            later_closed.setdefault(key, edge)
    name = actor_name(actor)
    to_create: list[Edge] = []
    refresh: list[Edge] = []
    widen: list[Edge] = []
    for key, spec in wanted.items():
        edge = current.get(key)
        if edge is not None:
            if all(getattr(edge, f) == getattr(spec, f) for f in MEANING_FIELDS):
                if at > edge.last_seen_at:
                    refresh.append(edge)
                elif at < edge.valid_from:
                    widen.append(edge)
                changes.seen += 1
                continue
            if at < edge.valid_from:  # an older event describing what was true before: history only
                changes.seen += 1
                continue
            edge.valid_to = at
            edge.changed_version = version
            if index is not None:
                index.touch(edge, EdgeIndex.CLOSE)
            else:
                edge.save(update_fields=["valid_to", "changed_version"])
            changes.closed.append(edge)
            propagation = edge.propagation
        else:
            closed = later_closed.get(key)
            if closed is not None and closed.valid_from > at:
                widen.append(closed)
                changes.seen += 1
                continue
            if closed is not None:
                changes.seen += 1
                continue
            propagation = Propagation.AUTO
        new = Edge(
            kind=spec.kind,
            src_type=spec.src_type,
            src_id=spec.src_id,
            dst_type=spec.dst_type,
            dst_id=spec.dst_id,
            job=job,
            run=run,
            last_run=run,
            transformation_type=spec.transformation_type[:32],
            transformation_subtype=spec.transformation_subtype[:32],
            description=spec.description,
            masking=spec.masking,
            transformations=spec.transformations,
            propagation=propagation,
            producer=producer[:500],
            actor=name,
            details=spec.details,
            valid_from=at,
            last_seen_at=at,
            changed_version=version,
        )
        new.full_clean(validate_unique=False, validate_constraints=False)
        to_create.append(new)
    for edge in refresh:  # the objects stay true to their rows (an index holds them)
        edge.last_seen_at, edge.last_run = at, run
    for edge in widen:
        edge.valid_from, edge.run, edge.changed_version = at, run, version
    if index is not None:  # written when the index flushes
        for edge in refresh:
            index.touch(edge, EdgeIndex.REFRESH)
        for edge in widen:
            index.touch(edge, EdgeIndex.WIDEN)
        index.create(to_create)
        changes.created = to_create
        return changes
    if refresh:
        Edge.objects.filter(pk__in=[e.pk for e in refresh]).update(last_seen_at=at, last_run=run)
    for edge in widen:
        Edge.objects.filter(pk=edge.pk).update(valid_from=at, run=run, changed_version=version)
    if to_create:
        changes.created = Edge.objects.bulk_create(to_create)
    return changes


def current_edges(specs: Sequence[EdgeSpec]) -> list[Edge]:
    """The current rows for ``specs``, in id order."""
    keys = {s.key for s in specs}
    src_q = Q()
    for src_type in {s.src_type for s in specs}:
        src_q |= Q(src_type=src_type, src_id__in={s.src_id for s in specs if s.src_type == src_type})
    rows = Edge.objects.filter(src_q, valid_to__isnull=True, kind__in={s.kind for s in specs}).order_by("id")
    return [e for e in rows if _edge_key(e) in keys]


def edges_close(*, edges: Iterable[Edge], at: datetime, version: int, index: EdgeIndex | None = None) -> list[Edge]:
    """Close current ``edges`` at ``at`` (what they asserted stopped being true); with ``index``,
    the writes are held there until it flushes."""
    closed = []
    for edge in edges:
        if edge.valid_to is not None:
            continue
        edge.valid_to = max(at, edge.valid_from)
        edge.changed_version = version
        closed.append(edge)
    if index is not None:
        for edge in closed:
            index.touch(edge, EdgeIndex.CLOSE)
    elif closed:
        rows_update(closed, EdgeIndex.CLOSE)
    return closed


def _after_commit_propagate(changes: EdgeChanges) -> None:
    """Re-run PII propagation from the source columns of column edges that appeared or vanished."""
    columns = {e.src_id for e in [*changes.created, *changes.closed] if e.src_type == NodeType.COLUMN}
    if columns:
        from lineage.propagation import propagate_from_columns_on_commit

        propagate_from_columns_on_commit(column_ids=columns)


_ANONYMIZATION = {"type": "DIRECT", "subtype": "ANONYMIZATION", "description": "", "masking": True}


# --- anonymization ------------------------------------------------------------------------------


def anonymization_link(
    *,
    source_asset: DataAsset,
    target_asset: DataAsset,
    column_pairs: list[tuple[str, str]],
    actor: Actor,
    run_details: dict[str, Any] | None = None,
) -> list[Edge]:
    """Record that ``target_asset`` was derived from ``source_asset`` by anonymization.

    Writes one asset-level and one column-level ``anonymized`` edge per (source column, target
    column) name pair, all with ``masking=True``, so PII propagation stops there. Unknown target
    columns are registered in the catalog. ``run_details`` (ids, operator names, counts; never
    values) is stored on the edges and in the audit event. Audited as ``lineage.anonymization.link``.
    Needs ``add``.
    """
    from catalog.services import columns_sync

    check_actor(actor, ADD, "lineage edges")
    details = dict(run_details or {})
    with transaction.atomic():
        source_cols = {c.name: c for c in source_asset.columns.all()}
        missing = sorted({s for s, _ in column_pairs} - source_cols.keys())
        if missing:
            raise ValidationError({"column_pairs": f"source asset has no column(s) {', '.join(missing)}"})
        target_cols = columns_sync(asset=target_asset, columns=[{"name": t} for _, t in column_pairs], actor=actor)
        version = graph_version_bump()
        at = timezone.now()
        specs = [
            EdgeSpec(
                kind=EdgeKind.ANONYMIZED,
                src_type=NodeType.ASSET,
                src_id=source_asset.pk,
                dst_type=NodeType.ASSET,
                dst_id=target_asset.pk,
                transformation_type="DIRECT",
                transformation_subtype="ANONYMIZATION",
                masking=True,
                details=details,
                transformations=[_ANONYMIZATION],
            )
        ]
        for src_name, dst_name in column_pairs:
            specs.append(
                EdgeSpec(
                    kind=EdgeKind.ANONYMIZED,
                    src_type=NodeType.COLUMN,
                    src_id=source_cols[src_name].pk,
                    dst_type=NodeType.COLUMN,
                    dst_id=target_cols[dst_name].pk,
                    transformation_type="DIRECT",
                    transformation_subtype="ANONYMIZATION",
                    description=str(details.get("operators", {}).get(src_name, ""))
                    if isinstance(details.get("operators"), dict)
                    else "",
                    masking=True,
                    details=details,
                    transformations=[_ANONYMIZATION],
                )
            )
        changes = edges_assert(specs=specs, at=at, version=version, actor=actor, producer="custos:anonymization")
        record(
            actor=actor,
            action="lineage.anonymization.link",
            target=source_asset,
            details={
                "source_asset_id": source_asset.pk,
                "target_asset_id": target_asset.pk,
                "column_pairs": len(column_pairs),
                "edges_created": len(changes.created),
                "run": details,
            },
        )
        _after_commit_propagate(changes)
    return current_edges(specs)


# --- models -------------------------------------------------------------------------------------


def model_version_link(
    *, model_version: ModelVersion, actor: Actor | str, run: Run | None = None, producer: str = ""
) -> EdgeChanges:
    """Make the graph's trained-on/evaluated-on edges match the version's catalog datasets.

    Datasets removed from the version close their edges. Audited as ``lineage.model_version.link``
    when anything changed. Needs ``change``.
    """
    check_actor(actor, CHANGE, "model lineage")
    with transaction.atomic():
        version = graph_version_bump()
        at = timezone.now()
        wanted = [
            EdgeSpec(
                kind=kind, src_type=NodeType.ASSET, src_id=asset_id, dst_type=NodeType.MODEL_VERSION, dst_id=model_version.pk
            )
            for kind, ids in (
                (EdgeKind.TRAINED_ON, model_version.training_datasets.values_list("pk", flat=True)),
                (EdgeKind.EVALUATED_ON, model_version.evaluation_datasets.values_list("pk", flat=True)),
            )
            for asset_id in ids
        ]
        changes = edges_assert(
            specs=wanted, at=at, version=version, actor=actor, run=run, job=run.job if run else None, producer=producer
        )
        wanted_keys = {s.key for s in wanted}
        stale = [
            e
            for e in Edge.objects.filter(
                dst_type=NodeType.MODEL_VERSION,
                dst_id=model_version.pk,
                kind__in=[EdgeKind.TRAINED_ON, EdgeKind.EVALUATED_ON],
                valid_to__isnull=True,
            )
            if _edge_key(e) not in wanted_keys
        ]
        changes.closed += edges_close(edges=stale, at=at, version=version)
        if changes.created or changes.closed:
            record(
                actor=actor,
                action="lineage.model_version.link",
                target=model_version,
                details={
                    "created": len(changes.created),
                    "closed": len(changes.closed),
                    "run_id": str(run.run_id) if run else None,
                },
            )
    return changes


def model_version_unlink(*, model_version_id: int, actor: Actor | str) -> int:
    """Close every current edge into a deleted model version. Audited when anything closed.
    Needs ``change``."""
    check_actor(actor, CHANGE, "model lineage")
    with transaction.atomic():
        edges = list(Edge.objects.filter(dst_type=NodeType.MODEL_VERSION, dst_id=model_version_id, valid_to__isnull=True))
        if not edges:
            return 0
        version = graph_version_bump()
        closed = edges_close(edges=edges, at=timezone.now(), version=version)
        record(
            actor=actor,
            action="lineage.model_version.unlink",
            target_type="catalog.modelversion",
            target_id=model_version_id,
            details={"closed": len(closed)},
        )
    return len(closed)


# --- steward decisions --------------------------------------------------------------------------


def edge_set_propagation(*, edge: Edge, propagation: str, actor: Actor, reason: str = "") -> Edge:
    """A steward blocks or allows PII propagation over one column edge, marks it as masking
    (``masked``: e.g. ``md5(email)`` that the producer sent without transformations; a reason is
    required), or resets it to ``auto``.

    Needs ``decide`` (PermissionDenied otherwise, before anything is read). Audited as ``lineage.edge.set_propagation``; propagation downstream is recomputed after commit.
    """
    check_actor(actor, DECIDE, "lineage edges")
    if propagation not in Propagation.values:
        raise ValidationError({"propagation": f"must be one of {', '.join(Propagation.values)}"})
    if propagation == Propagation.MASKED and not reason.strip():
        raise ValidationError({"reason": "required when marking an edge as masking (say what masks it)"})
    if edge.valid_to is not None:
        raise ValidationError("only a current edge can be changed")
    with transaction.atomic():
        edge = Edge.objects.select_for_update().get(pk=edge.pk)
        old = edge.propagation
        if old == propagation:
            return edge
        edge.propagation = propagation
        edge.changed_version = graph_version_bump()
        edge.full_clean(validate_constraints=False, validate_unique=False)
        edge.save(update_fields=["propagation", "changed_version"])
        record(
            actor=actor,
            action="lineage.edge.set_propagation",
            target=edge,
            reason=reason,
            details={"from": old, "to": propagation, "kind": edge.kind, "src": edge.src_key, "dst": edge.dst_key},
        )
        if edge.src_type == NodeType.COLUMN:
            from lineage.propagation import propagate_from_columns_on_commit

            propagate_from_columns_on_commit(column_ids={edge.src_id})
    return edge


def column_ids_of(asset: DataAsset) -> list[int]:
    return list(Column.objects.filter(asset=asset).values_list("pk", flat=True))

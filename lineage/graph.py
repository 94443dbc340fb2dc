"""The per-process networkx view of the provenance graph.

The database is the source of truth. Each process keeps one :class:`GraphCache`: built from the
current edges on first use, then brought up to date by loading only the edges whose
``changed_version`` is newer than the version it holds (its own writes and other processes'
alike). Every read first compares :class:`~lineage.models.GraphState` (one indexed row, one
query) with the cached version, so a request never rebuilds the graph unless history was rolled
back. Two graphs are kept: ``assets`` (asset, job and model-version nodes: consumes, produces,
trained-on, evaluated-on and asset-level anonymization edges) and ``columns`` (column
derivations and column-level anonymization). Node keys are ``"<type>:<id>"``.

Edge attributes held in memory: ``id`` (the Edge row), ``kind`` and ``stop`` (PII propagation
stops here: masking, anonymizing or an OpenLineage INDIRECT transformation, or blocked by a
steward, unless a steward allowed it).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from catalog.models import Column, DataAsset
from lineage.choices import NodeType
from lineage.models import Edge, GraphState, edge_stops

EDGE_FIELDS = (
    "id",
    "kind",
    "src_type",
    "src_id",
    "dst_type",
    "dst_id",
    "masking",
    "propagation",
    "transformation_type",
    "valid_to",
)


def key(node_type: str, node_id: int | str) -> str:
    return f"{node_type}:{node_id}"


NODE_TYPES = frozenset(NodeType.values)


def split_key(node_key: str) -> tuple[str, int]:
    """``"asset:12"`` -> ``("asset", 12)``; ValueError for anything else."""
    node_type, _, raw = node_key.partition(":")
    if node_type not in NODE_TYPES or not raw.isdigit():
        raise ValueError(f"node key must look like 'asset:12' (types: {', '.join(NodeType.values)})")
    return node_type, int(raw)


def stops(kind: str, masking: bool, propagation: str, transformation_type: str) -> bool:
    """PII propagation stops at this edge (see :func:`lineage.models.edge_stops`)."""
    return edge_stops(kind, masking, propagation, transformation_type)


@dataclass
class Graphs:
    """A consistent pair of graphs plus column -> asset (a snapshot, or the live cache's state)."""

    assets: nx.DiGraph = field(default_factory=nx.DiGraph)
    columns: nx.DiGraph = field(default_factory=nx.DiGraph)
    column_asset: dict[int, int] = field(default_factory=dict)
    _asset_columns: dict[int, list[int]] | None = None
    # Assets known to exist (they are never hard-deleted): answers "no lineage" without a query.
    known_assets: set[int] = field(default_factory=set)

    def asset_columns(self, asset_id: int) -> list[int]:
        """Column ids of an asset as far as the graph knows them (built on first use)."""
        if self._asset_columns is None:
            index: dict[int, list[int]] = {}
            for column_id, owner in self.column_asset.items():
                index.setdefault(owner, []).append(column_id)
            self._asset_columns = index
        return self._asset_columns.get(asset_id, [])

    def graph_for(self, node_key: str) -> nx.DiGraph:
        return self.columns if node_key.startswith("column:") else self.assets

    def add_rows(self, rows) -> set[int]:
        """Apply edge rows (tuples in EDGE_FIELDS order); returns column ids not yet mapped to assets."""
        a_succ, c_succ = self.assets, self.columns
        new_columns: set[int] = set()
        to_assets, to_columns = [], []
        # Closures first, so a closed row never removes the row that replaced it.
        for row in sorted(rows, key=lambda r: r[9] is None):
            edge_id, kind, src_type, src_id, dst_type, dst_id, masking, propagation, transformation_type, valid_to = row
            u, v = f"{src_type}:{src_id}", f"{dst_type}:{dst_id}"
            graph = c_succ if src_type == NodeType.COLUMN else a_succ
            if valid_to is not None:
                data = graph.get_edge_data(u, v)
                if data is not None and data["id"] == edge_id:
                    graph.remove_edge(u, v)
                continue
            attrs = {"id": edge_id, "kind": kind, "stop": stops(kind, masking, propagation, transformation_type)}
            if src_type == NodeType.COLUMN:
                to_columns.append((u, v, attrs))
                for cid in (src_id, dst_id):
                    if cid not in self.column_asset:
                        new_columns.add(cid)
            else:
                to_assets.append((u, v, attrs))
        a_succ.add_edges_from(to_assets)
        c_succ.add_edges_from(to_columns)
        return new_columns

    def map_columns(self, column_ids: set[int] | None) -> None:
        qs = Column.objects.all() if column_ids is None else Column.objects.filter(pk__in=column_ids)
        self.column_asset.update(qs.values_list("pk", "asset_id").iterator(chunk_size=20000))
        self._asset_columns = None


def build(at: datetime | None = None) -> Graphs:
    """A fresh graph from the database: the current edges, or those valid at ``at``."""
    enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of small dicts: generational GC passes would dominate
    try:
        return _build(at)
    finally:
        if enabled:
            gc.enable()


def _build(at: datetime | None) -> Graphs:
    graphs = Graphs()
    if at is None:
        qs = Edge.objects.filter(valid_to__isnull=True)
    else:
        qs = Edge.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)
    # A plain cursor over the compiled query: the ORM's per-row overhead doubles a cold load.
    sql, params = qs.order_by().values_list(*EDGE_FIELDS[:9]).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        graphs.add_rows([(*row, None) for row in cursor.fetchall()])
        cursor.execute("SELECT id, asset_id FROM " + Column._meta.db_table)
        graphs.column_asset.update(cursor.fetchall())
        cursor.execute("SELECT id FROM " + DataAsset._meta.db_table)
        graphs.known_assets.update(row[0] for row in cursor.fetchall())
    return graphs


class RestrictedAssets:
    """This process's set of restricted asset ids, the scoping every lineage read applies for a
    user without ``view_restricted`` (``lineage.selectors.hidden_assets``).

    Reading it from the database on every read was the cost of a viewer's or service's query
    (a scan of the assets: ~30 ms on 29k assets vs 0.05 ms for the walk). It is now kept like the
    graph: this process's own asset writes (any ``DataAsset`` save or delete) drop it when they
    commit, so the next read is exact; other processes' changes show within the graph cache's
    ``max_staleness`` seconds (``LINEAGE_CACHE_MAX_STALENESS``); with 0, every read queries.
    """

    def __init__(self, owner: GraphCache) -> None:
        self._owner = owner
        self._ids: frozenset[int] | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate(): a read that overlapped a write is not kept
        self.loads = 0  # for tests and the benchmark

    def invalidate(self) -> None:
        self._generation += 1
        self._ids = None

    def get(self) -> frozenset[int]:
        staleness = self._owner.max_staleness
        ids = self._ids
        if ids is not None and staleness > 0 and time.monotonic() - self._checked < staleness:
            return ids
        with self._lock:
            if self._ids is not None and staleness > 0 and time.monotonic() - self._checked < staleness:
                return self._ids
            checked, generation = time.monotonic(), self._generation  # before the read
            ids = frozenset(DataAsset.objects.filter(DataAsset.restricted_q()).values_list("pk", flat=True))
            self.loads += 1
            if generation == self._generation:
                self._ids, self._checked = ids, checked
            return ids


class GraphCache:
    """The live graph of this process, kept in step with the database by version (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.version = -1
            self.stamp = ""
            self.graphs = Graphs()
            self.loads = 0  # full loads, for tests and the benchmark
            self.deltas = 0
            self.checked_at = float("-inf")
            self.dirty = True
            # Other processes' writes show within this many seconds; this process's own writes
            # mark the cache dirty on commit and show on the next read.
            self.max_staleness = float(getattr(settings, "LINEAGE_CACHE_MAX_STALENESS", 1.0))
            self.restricted = RestrictedAssets(self)

    def mark_dirty(self) -> None:
        self.dirty = True

    def mark_dirty_on_commit(self) -> None:
        # Only on commit: syncing inside the writing transaction would cache edges that may still
        # roll back, and a rolled-back version number reused by later writes hides their edges
        # from the next delta (the cache trusts versions it has seen).
        transaction.on_commit(self.mark_dirty)

    def _state(self) -> tuple[int, str]:
        row = GraphState.objects.filter(pk=1).values_list("version", "stamp").first()
        return row if row else (0, "")

    def sync(self) -> None:
        now = time.monotonic()
        if not self.dirty and now - self.checked_at < self.max_staleness:
            return
        self.dirty = False
        self.checked_at = now
        version, stamp = self._state()
        if version == self.version and stamp == self.stamp:
            return
        with self._lock:
            if version == self.version and stamp == self.stamp:
                return
            if self.version < 0 or version < self.version or (version == self.version and stamp != self.stamp):
                self.graphs = build()
                self.loads += 1
            else:
                rows = list(Edge.objects.filter(changed_version__gt=self.version).order_by("id").values_list(*EDGE_FIELDS))
                new_columns = self.graphs.add_rows(rows)
                # New columns of known assets may exist without edges yet: remap them all.
                self.graphs.map_columns(new_columns or set())
                self.deltas += 1
            self.version, self.stamp = version, stamp

    def reading(self) -> _Reading:
        """``with cache.reading() as graphs``: the up-to-date graphs, held still (no concurrent
        delta) while the caller reads them. A plain object, not a generator: reads are hot."""
        return _Reading(self)


class _Reading:
    __slots__ = ("cache",)

    def __init__(self, cache: GraphCache) -> None:
        self.cache = cache

    def __enter__(self) -> Graphs:
        self.cache.sync()
        self.cache._lock.acquire()
        return self.cache.graphs

    def __exit__(self, *exc) -> None:
        self.cache._lock.release()


cache = GraphCache()


@contextmanager
def _snapshot(at: datetime) -> Iterator[Graphs]:
    yield build(at)


def graphs_at(at: datetime | None):
    """``with graphs_at(at) as graphs``: the live cache for ``at=None``, else a snapshot built for that moment."""
    return cache.reading() if at is None else _snapshot(at)

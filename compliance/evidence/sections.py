"""Evidence sections contributed by apps above compliance (monitoring, explanations, fairness).

compliance sits below monitoring in the dependency order, so the bundle builder cannot import what
monitoring records. Like ``core.pages`` for pages, a higher app *registers* what it adds to a bundle,
from its ``AppConfig.ready()`` (monitoring does it in ``monitoring/panels.py`` via
``monitoring/evidence.py``), and the builder asks this registry.

Contract (docs/evidence.md section 6.2):

* ``register(key, title=, collect=, tables=(), report_template=None, order=100)``. ``collect(ctx)``
  returns a JSON-serialisable dict, the content of ``evidence/<key>.json``; the builder adds the
  ``view`` object every evidence file carries. It must hold no data values (names, counts, scores,
  digests, ids), like every other evidence file.
* ``tables``: ``Table(name, columns, rows)``; ``rows(doc) -> list[dict]`` gives the rows of
  ``evidence/<name>.csv`` (UTF-8, CRLF, formula cells neutralised, a last ``view`` column: the
  same writer as ``inventory.csv``).
* ``report_template``: a Django template included in ``report.html`` after "Model accountability",
  with ``section`` (the document), ``key``, ``title`` and ``extra`` in its context; ``extra`` is
  ``report_context(ctx, doc)`` (e.g. plots as ``data:`` URIs), for the report only, not written to
  any file but the report.
* Records cite the ledger through ``ctx.cite(target_type, ids)``: only events inside the exported
  range carry ``"ledger": {"seq", "leaf_hash"}`` (base64, as the verifier checks); events outside it
  are listed with ``"ledger": null`` and ``"outside_range": true``.
* Keys and file names may not collide with the built-in files (``BUILTIN``); registering a key again
  replaces it (idempotent, like ``core.pages``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from audit import verify_core
from compliance.evidence.collect.snapshot import Scope, iso

# the built-in evidence files, in the order the bundle writes them (evidence/<name>.json)
BUILTIN_ORDER = (
    "inventory",
    "art30",
    "ccpa",
    "hipaa_safe_harbor",
    "policies",
    "findings",
    "runs",
    "access",
    "deanonymization",
    "models",
    "exports",
)
BUILTIN = frozenset(BUILTIN_ORDER)


@dataclass(frozen=True)
class Table:
    name: str  # evidence/<name>.csv
    columns: tuple[str, ...]
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class Section:
    key: str  # evidence/<key>.json
    title: str
    collect: Callable[[SectionContext], dict[str, Any]]
    tables: tuple[Table, ...] = ()
    report_template: str | None = None
    order: int = 100
    report_context: Callable[[SectionContext, dict[str, Any]], dict[str, Any]] | None = None


class EvidenceReader:
    """The principal section providers read as when they use their app's scoped selectors: the
    auditor role's view (every record, restricted ones included), which is what a complete bundle
    holds. Read-only: it is never an actor of a service (services take real users or system names)."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    role = "auditor"
    pk = id = None
    username = "evidence export"

    def get_username(self) -> str:
        return self.username

    def __str__(self) -> str:
        return self.username


@dataclass
class SectionContext:
    """What a section provider gets: the export's scope (moment, period, ledger range, filters), the
    model versions in scope (those listed in ``evidence/models.json``), and the reader."""

    scope: Scope
    model_version_ids: list[int]
    reader: Any = field(default_factory=EvidenceReader)

    @property
    def at(self):
        return self.scope.at

    @property
    def period_from(self):
        return self.scope.period_from

    def cite(self, target_type: str, ids: Iterable[Any]) -> dict[str, list[dict[str, Any]]]:
        """{target id (str): [event, ...]} of the audit events about these targets that happened at
        or before ``at``, oldest first; each event is ``{"action", "time", "actor", "reason",
        "ledger"}`` with ``ledger`` = ``{"seq", "leaf_hash"}`` inside the exported range, else
        ``None`` and ``"outside_range": True``."""
        from audit.models import AuditEvent

        wanted = [str(i) for i in ids]
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if not wanted:
            return out
        rng = self.scope.rng
        rows = (
            AuditEvent.objects.filter(target_type=target_type, target_id__in=wanted, occurred_at__lte=self.scope.at)
            .order_by("occurred_at", "id")
            .values(
                "action", "target_id", "occurred_at", "actor_type", "actor_id", "actor_name", "reason", "entry__seq", "leaf_hash"
            )
        )
        for row in rows:
            seq = row["entry__seq"]
            inside = seq is not None and rng.first_seq <= seq < rng.end_seq
            event = {
                "action": row["action"],
                "time": iso(row["occurred_at"]),
                "actor": row["actor_name"] or f"{row['actor_type']}:{row['actor_id']}",
                "reason": row["reason"],
                "ledger": {"seq": seq, "leaf_hash": verify_core.b64(bytes(row["leaf_hash"]))} if inside else None,
            }
            if not inside:
                event["outside_range"] = True
            out[row["target_id"]].append(event)
        return out


_sections: dict[str, Section] = {}


def register(
    key: str,
    *,
    title: str,
    collect: Callable[[SectionContext], dict[str, Any]],
    tables: Iterable[Table] = (),
    report_template: str | None = None,
    order: int = 100,
    report_context: Callable[[SectionContext, dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Register (or replace) the section ``key``; refuses a name that collides with a built-in file."""
    tables = tuple(tables)
    names = {key, *(t.name for t in tables)}
    if names & BUILTIN:
        raise ValueError(f"evidence section names collide with built-in files: {sorted(names & BUILTIN)}")
    for other in _sections.values():
        if other.key != key and names & {other.key, *(t.name for t in other.tables)}:
            raise ValueError(f"evidence section {key!r} collides with section {other.key!r}")
    _sections[key] = Section(key, title, collect, tables, report_template, order, report_context)


def registered() -> list[Section]:
    """The registered sections, in ``order`` then key."""
    return sorted(_sections.values(), key=lambda s: (s.order, s.key))

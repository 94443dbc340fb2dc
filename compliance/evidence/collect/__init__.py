"""Selectors that assemble the evidence of a bundle *as it stood* at a moment ``at``, one module
per evidence section (``inventory``, ``art30``, ``ccpa``, ``hipaa``, ``policies``, ``findings``,
``runs``, ``access``, ``deanonymization``, ``model_versions``, ``exports``, ``lineage``) over a
shared ``Snapshot`` (``snapshot``) and the ledger citations (``citations``).

Catalog state (assets, columns, classifications, model versions), policies, packs, rules and
grants come from their django-simple-history tables (the newest history row at or before ``at``,
dropped when it is a deletion), the lineage graph from the edges' valid time, findings from their
``first_seen``/``resolved_at`` window, activity (access decisions, de-anonymization, runs) from
the ledger range itself. Nothing here reads "today's" row where a history exists.

Every activity record cites the ledger event that recorded it as ``"ledger": {"seq", "leaf_hash"}``
(only events inside the exported range are cited, so the verifier can check each one).

No data values leave this package: columns, entity types, counts, ids and names of catalog objects
and staff accounts only.
"""

from compliance.evidence.collect.access import access
from compliance.evidence.collect.art30 import ART30_CSV_COLUMNS, ART30_FIELDS, art30
from compliance.evidence.collect.ccpa import ccpa
from compliance.evidence.collect.citations import range_events
from compliance.evidence.collect.deanonymization import deanonymization
from compliance.evidence.collect.exports import exports
from compliance.evidence.collect.findings import findings, model_version_names
from compliance.evidence.collect.hipaa import hipaa_safe_harbor
from compliance.evidence.collect.inventory import inventory, inventory_rows
from compliance.evidence.collect.lineage import lineage_described
from compliance.evidence.collect.model_versions import models
from compliance.evidence.collect.policies import policies_in_force
from compliance.evidence.collect.runs import runs
from compliance.evidence.collect.snapshot import Scope, Snapshot, as_of, iso

__all__ = [
    "ART30_CSV_COLUMNS",
    "ART30_FIELDS",
    "Scope",
    "Snapshot",
    "access",
    "art30",
    "as_of",
    "ccpa",
    "deanonymization",
    "exports",
    "findings",
    "hipaa_safe_harbor",
    "inventory",
    "inventory_rows",
    "iso",
    "lineage_described",
    "model_version_names",
    "models",
    "policies_in_force",
    "range_events",
    "runs",
]

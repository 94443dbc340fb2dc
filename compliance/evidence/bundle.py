"""Writing an evidence bundle: the evidence files, the ledger range, ``verify.py`` (built at export
time by ``verifier.source()``), ``report.html``,
then ``manifest.json`` (SHA-256 and size of every file) and ``manifest.sig`` (Ed25519 over the
manifest's exact bytes with the ledger key). ``docs/evidence.md`` is the contract for the layout.

Files are streamed into the zip and hashed as they are written, so a million-event range never
sits in memory as one string.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from audit import verify_core
from audit.keys import load_signer
from compliance.evidence import collect, ledger, verifier
from compliance.evidence import sections as extra_sections
from lineage import exports as lineage_exports

FORMAT = "custos-evidence/1"
Progress = Callable[[float, str], None]


def dump_json(value: Any) -> bytes:
    """The bundle's JSON: UTF-8, sorted keys; an object's top-level members one per line and the
    items of a top-level list one per line (compact inside), newline at the end. Readable in an
    editor, diff-able, and written by the C encoder (an indented dump of a million-record file
    costs several times more)."""

    def compact(item: Any) -> str:
        return json.dumps(item, sort_keys=True, ensure_ascii=False, default=_default, separators=(", ", ": "))

    def block(item: Any, indent: str) -> str:
        if isinstance(item, list) and item:
            inner = indent + "  "
            return "[\n" + ",\n".join(inner + compact(x) for x in item) + "\n" + indent + "]"
        return compact(item)

    if isinstance(value, dict) and value:
        members = ",\n".join(f"  {json.dumps(k, ensure_ascii=False)}: {block(value[k], '  ')}" for k in sorted(value))
        text = "{\n" + members + "\n}"
    else:
        text = block(value, "")
    return (text + "\n").encode("utf-8")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return collect.iso(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), +cmd|...,
# -2+3, @SUM(...), and TAB/CR that some importers strip before looking). OWASP "CSV Injection".
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """The text written for ``value`` in a Custos CSV: lists joined with ``"; "``, ``None`` empty,
    and any text starting with ``= + - @ TAB CR`` prefixed with a single quote so spreadsheets show
    it as text instead of running it. A pure function of the value, so bundles stay byte-stable."""
    if isinstance(value, list):
        value = "; ".join(str(x) for x in value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def dump_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """UTF-8 CSV with a header row and CRLF line ends; every cell, header included, goes through
    :func:`csv_cell` (formula neutralising, docs/evidence.md section 6)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in columns])
    return out.getvalue().encode("utf-8")


def _private_file(path: Path):
    """``path`` opened for writing with mode 0600 whatever the umask or an earlier file's mode:
    a bundle lists the catalog's personal-data inventory and the ledger (issue 17, item 9)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w+b")


@dataclass
class Request:
    """What to export (from an ``EvidenceExport`` row or the command line)."""

    export_id: int | None
    requested_by: dict[str, str]
    period_from: datetime | None
    period_to: datetime | None
    regulation: str = ""
    asset_ids: list[int] = field(default_factory=list)


@dataclass
class Result:
    path: Path
    size: int
    sha256: str
    manifest_sha256: str
    first_seq: int
    end_seq: int
    checkpoint_note: str
    verifier_key: str
    as_of: datetime
    files: int


class _Writer:
    """Adds files to the zip, hashing each as it goes."""

    def __init__(self, archive: zipfile.ZipFile, stamp: tuple[int, ...]) -> None:
        self.archive, self.stamp = archive, stamp
        self.entries: list[dict[str, Any]] = []

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def add(self, name: str, data: bytes) -> None:
        self.add_stream(name, [data])

    def add_stream(self, name: str, chunks: Iterable[bytes]) -> None:
        sha, size = hashlib.sha256(), 0
        with self.archive.open(self._info(name), "w", force_zip64=True) as handle:
            for chunk in chunks:
                sha.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        self.entries.append({"path": name, "sha256": sha.hexdigest(), "size": size})

    def add_unlisted(self, name: str, data: bytes) -> None:
        self.archive.writestr(self._info(name), data)


def _event_lines(rng: ledger.LedgerRange, progress: Progress, start: float, span: float) -> Iterable[bytes]:
    """``ledger/events.jsonl``: ``{"seq": n, "body": "<base64>", "leaf_hash": "<base64>"}`` per line
    (the ``audit_export`` format), batched into ~1 MiB writes."""
    b64 = base64.b64encode
    batch: list[bytes] = []
    pending = 0
    for done, (seq, body, leaf) in enumerate(ledger.iter_entries(rng), start=1):
        line = b'{"seq": %d, "body": "%s", "leaf_hash": "%s"}\n' % (seq, b64(body), b64(leaf))
        batch.append(line)
        pending += len(line)
        if pending >= 1 << 20:
            yield b"".join(batch)
            batch, pending = [], 0
            progress(start + span * done / max(rng.count, 1), f"ledger events {done}/{rng.count}")
    if batch:
        yield b"".join(batch)


def build(request: Request, out: Path, *, progress: Progress | None = None, previous_checkpoint: str | None = None) -> Result:
    """Build the bundle for ``request`` at ``out`` (written to ``out.partial`` first, then renamed)."""
    from django.utils import timezone

    progress = progress or (lambda fraction, stage: None)
    now = timezone.now()
    as_of = request.period_to or now
    progress(0.02, "ledger range")
    rng = ledger.period_range(period_from=request.period_from, period_to=request.period_to)
    note = ledger.checkpoint_at(rng.end_seq)
    checkpoint = verify_core.parse_checkpoint(verify_core.parse_note(note)[0])
    signer = load_signer()
    vkey = signer.verifier.vkey
    scope = collect.Scope(
        at=as_of, period_from=request.period_from, rng=rng, regulation=request.regulation, asset_ids=list(request.asset_ids)
    )

    progress(0.05, "catalog as of the date")
    snap = collect.Snapshot(scope)
    sections: dict[str, Any] = {}
    steps = [
        ("inventory", lambda: collect.inventory(snap)),
        ("art30", lambda: collect.art30(snap)),
        ("ccpa", lambda: collect.ccpa(snap)),
        ("policies", lambda: collect.policies_in_force(snap)),
        ("findings", lambda: collect.findings(snap)),
        ("runs", lambda: collect.runs(snap)),
        ("access", lambda: collect.access(snap)),
        ("deanonymization", lambda: collect.deanonymization(snap)),
        ("models", lambda: collect.models(snap)),
        ("exports", lambda: collect.exports(snap)),
    ]
    for i, (name, step) in enumerate(steps):
        progress(0.08 + 0.3 * i / len(steps), f"evidence: {name}")
        sections[name] = step()
    sections["hipaa_safe_harbor"] = collect.hipaa_safe_harbor(snap, sections["runs"]["runs"])
    described = collect.lineage_described(snap)
    # sections registered by apps above compliance (monitoring, explanations, fairness): section 6.2
    ctx = extra_sections.SectionContext(scope=scope, model_version_ids=[m["id"] for m in sections["models"]["model_versions"]])
    extras: list[tuple[extra_sections.Section, dict[str, Any]]] = []
    report_extra: dict[str, dict[str, Any]] = {}
    for section in extra_sections.registered():
        progress(0.38, f"evidence: {section.key}")
        doc = dict(section.collect(ctx))
        doc["view"] = scope.view_label()
        extras.append((section, doc))
        report_extra[section.key] = section.report_context(ctx, doc) if section.report_context else {}

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # mode applies to a directory made here
    partial = out.with_name(out.name + ".partial")
    stamp = (
        (as_of.year, as_of.month, as_of.day, as_of.hour, as_of.minute, as_of.second)
        if as_of.year >= 1980
        else (1980, 1, 1, 0, 0, 0)
    )
    with (
        _private_file(partial) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as archive,
    ):
        writer = _Writer(archive, stamp)
        progress(0.4, "ledger events")
        writer.add_stream("ledger/events.jsonl", _event_lines(rng, progress, 0.4, 0.45))
        writer.add("ledger/prefix.json", dump_json({"size": rng.first_seq, "subtrees": ledger.prefix_subtrees(rng.first_seq)}))
        writer.add("ledger/checkpoint.txt", note.encode("utf-8"))
        writer.add("ledger/consistency.json", dump_json(ledger.consistency_with(previous_checkpoint, note)))
        progress(0.86, "evidence files")
        for name in extra_sections.BUILTIN_ORDER:
            writer.add(f"evidence/{name}.json", dump_json(sections[name]))
        # CSV has no header comments: every row carries the view label in its last column.
        label = view_label_text(scope)
        inventory_rows = [{**row, "view": label} for row in collect.inventory_rows(sections["inventory"])]
        art30_rows = [{**row, "view": label} for row in sections["art30"]["records"]]
        writer.add("evidence/inventory.csv", dump_csv(inventory_rows, [*INVENTORY_CSV_COLUMNS, "view"]))
        writer.add("evidence/art30.csv", dump_csv(art30_rows, [*collect.ART30_CSV_COLUMNS, "view"]))
        for section, doc in extras:
            writer.add(f"evidence/{section.key}.json", dump_json(doc))
            for table in section.tables:
                rows = [{**row, "view": label} for row in table.rows(doc)]
                writer.add(f"evidence/{table.name}.csv", dump_csv(rows, [*table.columns, "view"]))
        writer.add("lineage/graph.graphml", lineage_exports.graphml(described).encode("utf-8"))
        writer.add("lineage/graph.json", lineage_exports.node_link_json(described).encode("utf-8") + b"\n")
        writer.add("verify.py", verifier.source())  # built now from audit/verify_core.py
        progress(0.9, "report")
        parameters = {
            "period_from": collect.iso(request.period_from),
            "period_to": collect.iso(request.period_to),
            "as_of": collect.iso(as_of),
            "regulation": request.regulation or None,
            "asset_ids": list(request.asset_ids) or None,
        }
        ledger_info = {
            "origin": checkpoint.origin,
            "first_seq": rng.first_seq,
            "end_seq": rng.end_seq,
            "events": rng.count,
            "tree_size": checkpoint.size,
            "checkpoint_root": verify_core.b64(checkpoint.root),
        }
        context = {
            "export_id": request.export_id,
            "created_at": collect.iso(now),
            "requested_by": request.requested_by,
            "parameters": parameters,
            "scope": scope.view_label(),
            "ledger": ledger_info,
            "verifier_key": vkey,
            "version": settings.CUSTOS_VERSION,
            "s": sections,
            "summary": summarise(sections),
            "lineage": {"nodes": len(described["nodes"]), "edges": len(described["edges"])},
            "extra_sections": [
                {
                    "key": section.key,
                    "title": section.title,
                    "template": section.report_template,
                    "section": doc,
                    "extra": report_extra[section.key],
                    "files": [f"evidence/{section.key}.json", *(f"evidence/{t.name}.csv" for t in section.tables)],
                }
                for section, doc in extras
            ],
        }
        writer.add("report.html", render_to_string("evidence/report.html", context).encode("utf-8"))
        writer.add("README.txt", README.format(version=settings.CUSTOS_VERSION).encode("utf-8"))
        manifest = {
            "format": FORMAT,
            "export_id": request.export_id,
            "software": {"name": "Custos", "version": settings.CUSTOS_VERSION},
            "created_at": collect.iso(now),
            "requested_by": request.requested_by,
            "parameters": parameters,
            "filtered": scope.filtered,
            "view_note": scope.view_label()["note"],
            "ledger": ledger_info,
            "signing_key": vkey,
            "files": sorted(writer.entries, key=lambda e: e["path"]),
        }
        manifest_bytes = dump_json(manifest)
        signature = {
            "algorithm": "Ed25519",
            "signed_file": "manifest.json",
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "verifier_key": vkey,
            "key_id": signer.verifier.key_id.hex(),
            "signature": verify_core.b64(signer.sign(manifest_bytes)),
        }
        writer.add_unlisted("manifest.json", manifest_bytes)
        writer.add_unlisted("manifest.sig", dump_json(signature))
    sha = hashlib.sha256()
    with partial.open("rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
    partial.replace(out)
    progress(1.0, "done")
    return Result(
        path=out,
        size=out.stat().st_size,
        sha256=sha.hexdigest(),
        manifest_sha256=signature["manifest_sha256"],
        first_seq=rng.first_seq,
        end_seq=rng.end_seq,
        checkpoint_note=note,
        verifier_key=vkey,
        as_of=as_of,
        files=len(writer.entries) + 2,
    )


def view_label_text(scope: collect.Scope) -> str:
    rng = f"ledger seq {scope.rng.first_seq}..{scope.rng.end_seq - 1}"
    if not scope.filtered:
        return f"complete view as of {collect.iso(scope.at)} ({rng})"
    filters = "; ".join(
        part
        for part in (
            f"regulation={scope.regulation}" if scope.regulation else "",
            f"assets={','.join(map(str, scope.asset_ids))}" if scope.asset_ids else "",
        )
        if part
    )
    return f"FILTERED VIEW ({filters}) as of {collect.iso(scope.at)} of the complete {rng}"


INVENTORY_CSV_COLUMNS = (
    "asset_id",
    "asset",
    "asset_sensitivity",
    "column",
    "entity_type",
    "classification_source",
    "state",
    "sensitivity",
    "confidence",
    "scan_id",
)


EFFECT_WORDS = {"allow": "allowed", "allow_masked": "allowed with identifiers masked", "deny": "denied"}


def summarise(s: dict[str, Any]) -> dict[str, Any]:
    """The headline figures the report opens with."""
    inv = s["inventory"]["assets"]
    findings = s["findings"]["findings"]
    severities = {}
    for f in findings:
        severities[f["severity"]] = severities.get(f["severity"], 0) + 1
    art30_gaps = sum(1 for r in s["art30"]["records"] if r["gaps"])
    models = s["models"]["model_versions"]
    return {
        "pii_assets": len(inv),
        "pii_columns": sum(len(a["columns"]) for a in inv),
        "special_category_assets": sum(1 for a in inv if a["special_categories"]),
        "entity_types": sorted({e for a in inv for e in a["entity_types"]}),
        "art30_records": len(s["art30"]["records"]),
        "art30_with_gaps": art30_gaps,
        "open_findings": len(findings),
        "findings_by_severity": severities,
        "critical_or_high": severities.get("critical", 0) + severities.get("high", 0),
        "policies": len(s["policies"]["policies"]),
        "model_versions": len(models),
        "production_models_special": sum(1 for m in models if m["stage"] == "production" and m["special_categories_upstream"]),
        "models_without_dpia": sum(1 for m in models if m["special_categories_upstream"] and not m["dpia_recorded"]),
        "access_decisions": s["access"]["summary"]["decisions"],
        "access_by_effect": {EFFECT_WORDS.get(k, k): v for k, v in s["access"]["summary"]["by_effect"].items()},
        "grants": len(s["access"]["grants"]),
        "reveals": s["deanonymization"]["summary"]["reveals"],
        "reveals_refused": s["deanonymization"]["summary"]["refused"],
        "runs": {kind: sum(1 for r in s["runs"]["runs"] if r["type"] == kind) for kind in ("retention", "anonymization", "scan")},
        "deidentified": len(s["hipaa_safe_harbor"]["datasets"]),
        "safe_harbor_met": sum(1 for d in s["hipaa_safe_harbor"]["datasets"] if d["status"] == "meets Safe Harbor"),
    }


README = """Custos evidence bundle (format custos-evidence/1, Custos {version})

Open report.html in any browser for the human-readable report (no network needed).

To check that nothing in this bundle was changed, removed or added, and that the ledger range is
complete and signed, run (Python 3.10+ with the `cryptography` package only):

    python verify.py THIS_BUNDLE.zip --key "<the Custos ledger public key>"

Get the public key from the organisation separately (GET /api/v1/audit/public-key); without
--key, verify.py uses the key named inside the bundle, which proves internal consistency only.
Exit status 0 and a line starting with OK means intact; 1 lists every problem found.

Layout: manifest.json (files, digests, parameters), manifest.sig (signature), ledger/ (events,
prefix subtrees, signed checkpoint, consistency proof), evidence/ (JSON and CSV), lineage/
(GraphML and node-link JSON), report.html, verify.py. The format is specified in docs/evidence.md
of Custos.
"""

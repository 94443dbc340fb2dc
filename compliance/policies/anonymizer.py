"""Anonymize a CSV or Parquet file into a new file of the same format, streamed in chunks.

1. **Plan** each column once, on a sample of the first chunk: an explicit column rule, else the
   catalog's classifications, else free-text detection, else the column name, else a Presidio scan
   of the sample. The plan names the entity type, the operator and why (never a value).
2. **Transform** chunk by chunk, one vectorised operator per column (``operators.py``).
3. **Verify**: every original value of an identifier column is looked up among the output
   values (exact cells); the output is re-scanned with the scanning app; a k-anonymity report is
   computed over the quasi-identifiers across the whole output.

The report holds column names, operator names, counts and shares; never data values.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.utils import timezone

from compliance.anonymization import verification
from compliance.policies import operators
from compliance.policies.profiles import FREE_TEXT_HINT, NON_IDENTIFYING, name_hint

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# Operators that keep (part of) the value: their columns are checked by the re-scan, not by the
# exact-value comparison.
PRESERVING = frozenset({"keep", "generalize", "date_shift", "scrub"})


class AnonymizeError(ValueError):
    """Bad input: unknown format, unreadable file, missing column. The message names no value."""


DB_URL = re.compile(r"^(sqlite|postgres|postgresql|postgresql\+psycopg)://|^source:[^#]+#")


def is_table(location: str | Path) -> bool:
    """A database table location ``URL#table`` (``sqlite:///data.db#patients``) or a registered
    source's table (``source:<name>#table``), as :mod:`compliance.datasets` reads it."""
    return bool(DB_URL.match(str(location)))


def location_format(location: str | Path) -> str:
    return "sql" if is_table(location) else file_format(Path(location))


def _label(location: str | Path) -> str:
    return str(location).rpartition("#")[2] if is_table(location) else Path(location).name


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    raise AnonymizeError(f"{path.name}: unsupported format (use .csv, .parquet or .jsonl)")


@dataclass
class ColumnPlan:
    name: str
    entity_type: str | None
    spec: dict[str, Any]
    basis: str
    quasi: bool = False
    free_text: bool = False

    @property
    def identifier(self) -> bool:
        return self.spec["operator"] not in PRESERVING and self.entity_type not in NON_IDENTIFYING


@dataclass
class Report:
    profile: str
    source_format: str
    rows: int = 0
    chunks: int = 0
    seconds: float = 0.0
    rows_per_second: float = 0.0
    columns: list[dict[str, Any]] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    identifier_check: dict[str, Any] = field(default_factory=dict)
    rescan: dict[str, Any] = field(default_factory=dict)
    k_anonymity: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)
    free_text: dict[str, Any] = field(default_factory=dict)
    passed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- planning ----------------------------------------------------------------------------------


def _looks_free_text(values: list[str]) -> bool:
    values = [v for v in values if v]
    if len(values) < 1:
        return False
    words = statistics.median(len(v.split()) for v in values)
    length = statistics.median(len(v) for v in values)
    return words >= 6 or (words >= 4 and length >= 40)


def _hint_fits(entity: str, values: list[str]) -> bool:
    """A name hint must agree with the data: dates parse as dates, ages are numbers."""
    values = [v for v in values if v][:200]
    if not values:
        return True
    if entity in ("DATE_TIME", "DATE_OF_BIRTH"):
        parsed = operators.parse_dates(values)
        return float(parsed.notna().mean()) >= 0.8
    if entity == "AGE":
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").notna().mean() >= 0.8
    return True


_YEARISH = re.compile(r"(?<!\d)(?:1[89]\d\d|20\d\d)(?!\d)")
_COMPACT_DATE = re.compile(r"^(?:1[89]|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$")


def looks_like_dates(values: list[str], *, share: float = 0.9) -> bool:
    """Value evidence for a date column whatever its name: at least ``share`` of the (up to 500)
    values carry a year from 1800 to 2099 (or are compact ``YYYYMMDD``) and parse as dates."""
    values = [v.strip() for v in values if v and v.strip()][:500]
    if len(values) < 3:
        return False
    candidates = [v for v in values if _COMPACT_DATE.match(v) or (_YEARISH.search(v) and not v.isdigit())]
    if len(candidates) < share * len(values):
        return False
    parsed = operators.parse_dates(candidates)
    return int(parsed.notna().sum()) >= share * len(values)


def _spec_for(entity: str | None, profile: dict[str, Any]) -> dict[str, Any] | None:
    return profile["entity_types"].get(entity) if entity else None


# How much of a value an operator leaves (higher removes more). Ties are broken by REFINES.
OPERATOR_STRENGTH = {
    "keep": 0,
    "date_shift": 1,
    "generalize": 2,
    "scrub": 2,
    "mask": 3,
    "encrypt_siv": 4,
    "encrypt_gcm": 4,
    "hmac": 4,
    "surrogate": 4,
    "replace": 5,
    "redact": 6,
    "suppress": 7,
}
# A more specific entity type of the same kind: taken from the column evidence over the catalog's.
REFINES = {("DATE_OF_BIRTH", "DATE_TIME"), ("AGE", "DATE_TIME"), ("FAX_NUMBER", "PHONE_NUMBER")}


def _stronger(evidence: str, catalog: str, profile: dict[str, Any]) -> bool:
    """True when the column evidence's entity type gets a treatment at least as strict as the
    catalog's and is more specific, or a strictly stricter one."""
    spec_e, spec_c = _spec_for(evidence, profile), _spec_for(catalog, profile)
    if spec_e is None:
        return False
    if spec_c is None:
        return True
    rank_e, rank_c = OPERATOR_STRENGTH.get(spec_e["operator"], 0), OPERATOR_STRENGTH.get(spec_c["operator"], 0)
    return rank_e > rank_c or (rank_e == rank_c and (evidence, catalog) in REFINES)


def plan_columns(
    sample: pd.DataFrame,
    profile: dict[str, Any],
    *,
    classifications: dict[str, list[str]] | None = None,
    scan: bool = True,
) -> list[ColumnPlan]:
    """Decide entity type and operator for every column of ``sample`` (see the module docstring)."""
    classifications = classifications or {}
    explicit = profile.get("columns", {})
    free_text_columns = set(profile.get("free_text_columns", []))
    qi_names = {q for q in profile.get("quasi_identifiers", []) if not q.isupper()}
    qi_types = {q for q in profile.get("quasi_identifiers", []) if q.isupper()}
    plans: dict[str, ColumnPlan] = {}
    unresolved: list[str] = []
    for name in sample.columns:
        column = str(name)
        values = [str(v) for v in sample[name].dropna().head(500).tolist()]
        hinted, hint_entity = name_hint(column)
        if hint_entity and not _hint_fits(hint_entity, values):
            hinted, hint_entity = False, None
        entity: str | None = None
        if column in explicit:
            plans[column] = ColumnPlan(column, hint_entity, dict(explicit[column]), "policy column rule")
            continue
        catalog = [e for e in classifications.get(column, []) if e in profile["entity_types"]]
        is_text = (
            column in free_text_columns
            or (sample[name].dtype.kind in "OUT" or pd.api.types.is_string_dtype(sample[name].dtype))
            and (_looks_free_text(values) or (FREE_TEXT_HINT.search(column.lower()) and _looks_free_text(values[:50] or [""])))
        )
        if is_text:
            # Free text is scrubbed of the identifiers inside it whatever the catalog says of the
            # column (a PERSON classification on notes must not empty the notes; issue 12 defect 2),
            # so a file and the cataloged asset holding it get the same plan.
            plans[column] = ColumnPlan(column, None, dict(profile["free_text"]), "free text", free_text=True)
            continue
        if catalog:
            entity = catalog[0]
            basis = "catalog classification"
            if hint_entity and hint_entity != entity and _stronger(hint_entity, entity, profile):
                # Catalog first, column evidence next, never the weaker of the two: a DATE_TIME
                # classification on a birth-date column still gets the date-of-birth treatment.
                entity, basis = hint_entity, f"catalog classification {catalog[0]}, refined by column evidence"
            plans[column] = ColumnPlan(column, entity, dict(_spec_for(entity, profile)), basis)
            continue
        if hinted and hint_entity:
            spec = _spec_for(hint_entity, profile)
            plans[column] = ColumnPlan(column, hint_entity, dict(spec) if spec else {"operator": "keep"}, "column name")
            continue
        if looks_like_dates(values) and _spec_for("DATE_TIME", profile):
            # Dates are dates whatever the column is called (c7, dob, ...): generalized, shifted or
            # capped at 90+ as the profile says for DATE_TIME, on every entry point.
            plans[column] = ColumnPlan(column, "DATE_TIME", dict(_spec_for("DATE_TIME", profile)), "values are dates")
            continue
        if hinted:
            plans[column] = ColumnPlan(column, None, {"operator": "keep"}, "state level")
            continue
        unresolved.append(column)
    if scan and unresolved:
        from compliance.policies.presidio_text import rescan

        found = rescan(sample[unresolved], sample_size=min(len(sample), 1000), hints=True)
        for column in unresolved:
            hits = sorted(
                (h for h in found.get(column, []) if h["share"] >= 0.3 and h["type"] in profile["entity_types"]),
                key=lambda h: -h["share"],
            )
            if hits:
                entity = hits[0]["type"]
                plans[column] = ColumnPlan(column, entity, dict(_spec_for(entity, profile)), f"scan ({hits[0]['share']:.0%})")
    ordered = []
    for name in sample.columns:
        plan = plans.get(str(name)) or ColumnPlan(str(name), None, {"operator": "keep"}, "no identifier found")
        plan.quasi = str(name) in qi_names or (plan.entity_type in qi_types)
        ordered.append(plan)
    _bind_subject(ordered, profile)
    for plan in ordered:
        operators.validate_spec(plan.spec)
    return ordered


def _bind_subject(plans: list[ColumnPlan], profile: dict[str, Any]) -> None:
    """Resolve ``"$subject"`` in date_shift specs to the table's subject id column."""
    needs = [p for p in plans if p.spec.get("subject_column") == "$subject"]
    if not needs:
        return
    subject = profile.get("subject_column")
    if not subject:
        ids = [p.name for p in plans if p.entity_type in ("UNIQUE_ID", "MEDICAL_RECORD_NUMBER")]
        preferred = [
            n for n in ids if any(w in n.lower() for w in ("patient", "customer", "subject", "person", "member", "user"))
        ]
        subject = (preferred or ids or [None])[0]
    for plan in needs:
        if subject:
            plan.spec["subject_column"] = subject
        else:
            plan.spec = dict(profile.get("fallback", {}).get(plan.entity_type) or {"operator": "generalize", "method": "year"})
            plan.basis += " (no subject column: generalized)"


# --- reading and writing: compliance.datasets alone ------------------------------------------


def _source_location(src: str | Path) -> Any:
    """The checked location of the input (the datasets rule: inside the roots, never the app's database)."""
    from compliance import datasets

    try:
        return datasets.resolve(str(src))
    except datasets.LocationRefused:
        raise
    except datasets.ReadError as exc:
        raise AnonymizeError(str(exc)) from exc


def _chunks(loc: Any, chunk_rows: int, *, columns: list[str] | None = None, limit: int | None = None):
    """The rows of ``loc`` in chunks, through :func:`compliance.datasets.read_chunks`; a read
    error is an :class:`AnonymizeError` naming the file and the format, never a value."""
    from compliance import datasets

    try:
        yield from datasets.read_chunks(loc, columns=columns, chunk_rows=chunk_rows, limit=limit)
    except datasets.ReadError as exc:
        raise AnonymizeError(f"cannot read the input: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AnonymizeError(f"cannot read the input ({type(exc).__name__})") from exc


def _writer(dst: Any, *, like: Any = None):
    """A streamed output through :func:`compliance.datasets.open_writer` (written to ``.partial`` /
    ``__partial`` and renamed on commit; the rule re-checked before open and before commit)."""
    from compliance import datasets

    try:
        return datasets.open_writer(dst, like=like)
    except datasets.WriteError as exc:
        raise AnonymizeError(str(exc)) from exc


# --- the run -----------------------------------------------------------------------------------


def _as_text_set(series: pd.Series) -> set[str]:
    return {str(v) for v in pd.unique(series.dropna()) if len(str(v)) >= 3}


def transform_chunk(chunk: pd.DataFrame, plans: list[ColumnPlan], ctx: operators.Context) -> pd.DataFrame:
    out: dict[str, pd.Series] = {}
    for plan in plans:
        result = operators.apply(chunk[plan.name], plan.spec, ctx, chunk)
        if result is not None:
            out[plan.name] = result
    return pd.DataFrame(out, index=chunk.index)


def _dates_to_year(plan: ColumnPlan) -> bool:
    """A date column the profile generalizes to a year: its full dates are identifiers to look for."""
    return (
        plan.entity_type in ("DATE_OF_BIRTH", "DATE_TIME")
        and plan.spec["operator"] == "generalize"
        and plan.spec.get("method") == "year"
    )


def collect_known(search: verification.ValueSearch, chunk: pd.DataFrame, plans: list[ColumnPlan]) -> None:
    """Add a chunk's identifier values (and the full dates of columns generalized to a year)."""
    for plan in plans:
        if plan.name not in chunk.columns:
            continue
        if plan.identifier:
            search.collect(chunk[plan.name], entity_type=plan.entity_type, column=plan.name)
        elif _dates_to_year(plan):
            search.collect_dates(chunk[plan.name], entity_type=plan.entity_type, column=plan.name)


def anonymize_file(
    src: str | Path,
    dst: str | Path,
    *,
    profile: dict[str, Any],
    classifications: dict[str, list[str]] | None = None,
    ctx: operators.Context | None = None,
    chunk_rows: int = 100_000,
    verify: bool = True,
    scan: bool = True,
    rescan_rows: int = 2000,
) -> Report:
    """Write the anonymized copy of ``src`` to ``dst`` and return the run report.

    ``src`` is a file (CSV, Parquet, JSON lines) or a database table (``sqlite:///file.db#table``,
    ``source:<name>#schema.table``), read through :mod:`compliance.datasets`; a file goes to a file
    of the same format, a table to a CSV or Parquet file or to a table of a SQLite database, written
    through the same layer (the location rule applies to both, on open and on commit).

    When a column is free text, the table's identifier values are collected first (a projected
    pass over the identifier columns), so the scrubber removes every value the table knows from
    every note -- any row's, with partial forms (``compliance.anonymization.known``) -- before the
    recognizers run; ``report.free_text`` says how many words that removed and how many others.
    """
    from compliance import datasets
    from compliance.anonymization.redaction import TextStats

    fmt = location_format(src)
    out_fmt = location_format(dst)
    if fmt != "sql":
        if out_fmt != fmt:
            raise AnonymizeError(f"output must have the input's format ({fmt})")
        if not Path(src).exists():
            raise AnonymizeError(f"{Path(src).name}: no such file")
        if out_fmt != "sql" and Path(src).resolve() == Path(dst).resolve():
            raise AnonymizeError("output must not overwrite the input")
    elif str(src) == str(dst):
        raise AnonymizeError("output must not overwrite the input")
    source = _source_location(src)
    target = datasets.resolve_output(str(dst))
    started = time.perf_counter()
    if ctx is None:
        from compliance.policies.presidio_text import make_scrubber

        ctx = operators.Context(reference_year=timezone.now().year, scrubber=make_scrubber())
    report = Report(profile=profile.get("name", "custom"), source_format=fmt)
    first = next(iter(_chunks(source, chunk_rows)), None)
    if first is None:
        raise AnonymizeError(f"{_label(src)}: no rows")
    plans = plan_columns(first.head(2000), profile, classifications=classifications, scan=scan)
    del first
    search = verification.ValueSearch()
    scrubbed = [p for p in plans if p.free_text and p.spec["operator"] == "scrub"]
    if scrubbed:
        # Every value the table knows, before the first note is scrubbed (one projected pass).
        wanted = [p.name for p in plans if p.identifier or _dates_to_year(p)]
        if wanted:
            for chunk in _chunks(source, chunk_rows, columns=wanted):
                collect_known(search, chunk, plans)
        ctx.known = search.known
        ctx.text_stats = TextStats()
    writer = _writer(target, like=source if fmt == "parquet" else None)
    qi_frames: list[pd.Series] = []
    kept_types = frozenset(p.name for p in plans if p.spec["operator"] == "keep")
    try:
        for chunk in _chunks(source, chunk_rows):
            out = transform_chunk(chunk, plans, ctx)
            writer.write(out, keep_types=kept_types)
            report.rows += len(chunk)
            report.chunks += 1
            if verify and not scrubbed:
                collect_known(search, chunk, plans)
            qi = [p.name for p in plans if p.quasi and p.name in out.columns]
            if qi:
                qi_frames.append(out[qi].astype(str).fillna("").groupby(qi, dropna=False).size())
        writer.commit()
    except Exception as exc:
        ctx.close()
        writer.abort()
        if isinstance(exc, datasets.WriteError):
            raise AnonymizeError(str(exc)) from exc
        raise
    ctx.close()
    report.seconds = round(time.perf_counter() - started, 3)
    report.rows_per_second = round(report.rows / report.seconds, 1) if report.seconds else 0.0
    report.columns = [
        {"name": p.name, "entity_type": p.entity_type, "operator": p.spec["operator"], "basis": p.basis, "quasi": p.quasi}
        | ({"method": p.spec["method"]} if "method" in p.spec else {})
        for p in plans
    ]
    report.dropped_columns = [p.name for p in plans if p.spec["operator"] == "suppress"]
    if ctx.text_stats is not None:
        report.free_text = ctx.text_stats.as_dict([p.name for p in scrubbed])
    quasi = [p.name for p in plans if p.quasi and p.spec["operator"] != "suppress"]
    report.k_anonymity = k_anonymity(qi_frames, quasi, int(profile.get("k", 5)))
    if profile.get("k_enforce") and report.k_anonymity.get("classes_below_target") and out_fmt != "sql":
        report.k_anonymity = enforce_k(target, quasi, qi_frames, int(profile.get("k", 5)), chunk_rows) | {
            "before_suppression": report.k_anonymity
        }
    if verify:
        _verify(
            report, search, target, out_fmt, plans, profile, ctx.reference_year, chunk_rows=chunk_rows, rescan_rows=rescan_rows
        )
    else:
        report.verification = {"checks": [], "skipped": [{"name": "all checks", "reason": "verification turned off"}]}
    return report


def _verify(
    report, search, dst, fmt: str, plans: list[ColumnPlan], profile, reference_year: int, *, chunk_rows: int, rescan_rows: int
) -> None:
    """Second pass over the whole output: the identifier value search and the ages check on every
    cell (``verification.py``), then the sampled re-scan. ``passed`` only when every check ran and
    none found anything."""
    search.columns = [p.name for p in plans if p.identifier]
    search.covers = {p.entity_type for p in plans if p.identifier and p.entity_type}
    search.opaque = {p.name: p.spec["operator"] for p in plans if p.spec["operator"] in verification.OPAQUE_OPERATORS}
    # Ages over 89 are checked when the profile aggregates them (Safe Harbor); a pseudonymizing
    # profile keeps them on purpose, so the check does not apply (and the report says so).
    caps_ages = any(
        s.get("birth") or s.get("age_indicative") or s.get("method") == "age_cap" for s in profile["entity_types"].values()
    )
    ages = verification.AgesCheck(
        reference_year=reference_year,
        columns={
            p.name: p.entity_type
            for p in plans
            if p.entity_type in verification.AGE_BEARING and p.spec["operator"] not in ("suppress", "redact")
        },
    )
    for chunk in _chunks(dst, chunk_rows):
        search.search(chunk)
        if caps_ages:
            ages.search(chunk)
    value_check = search.as_check()
    ages_check = ages.as_check() if caps_ages else None
    report.identifier_check = {
        "identifier_columns": value_check["identifier_columns"],
        "distinct_values_checked": value_check["distinct_values_searched"],
        "values_found_in_output": value_check["found"],
        "by_column": value_check["by_column"],
    }
    report.rescan = verify_output(dst, fmt, plans, profile, rows=rescan_rows)
    rescan_check = {
        "name": "re-scan of the output's first rows (Presidio)",
        "covers": [],
        "found": len(report.rescan["residual"]),
        "complete": report.rescan["rows_scanned"] >= report.rows,
        "by_column": {r["column"]: r["share"] for r in report.rescan["residual"]},
        "not_checked": []
        if report.rescan["rows_scanned"] >= report.rows
        else [f"rows after the first {report.rescan['rows_scanned']}"],
    }
    checks = [c for c in (value_check, ages_check, rescan_check) if c is not None]
    not_applicable = [] if caps_ages else [{"name": verification.AGES_CHECK, "reason": f"profile {report.profile} keeps ages"}]
    report.verification = {"checks": checks, "skipped": [], "not_applicable": not_applicable}
    report.passed = all(c["found"] == 0 for c in checks)


def verify_output(dst: Any, fmt: str, plans: list[ColumnPlan], profile: dict[str, Any], *, rows: int) -> dict[str, Any]:
    """Re-scan the head of the output; an identifier type left in a column it should not be in fails."""
    from compliance.policies.presidio_text import rescan

    sample = next(iter(_chunks(dst, rows, limit=rows)), pd.DataFrame())
    for plan in plans:
        if plan.free_text and plan.name in sample.columns:
            sample[plan.name] = sample[plan.name].map(_without_placeholders)
    found = rescan(sample, sample_size=min(rows, 1000))
    allowed = {"DATE_TIME", "US_ZIP_CODE", "LOCATION", "NRP"}  # years, ZIP3, state names, ethnicity: kept by design
    by_name = {p.name: p for p in plans}
    residual = []
    for column, hits in found.items():
        plan = by_name.get(column)
        for hit in hits:
            identifying = (
                hit["type"] in profile["entity_types"] and profile["entity_types"][hit["type"]]["operator"] not in PRESERVING
            )
            if hit["share"] < 0.05 or not identifying:
                continue
            if hit["type"] in allowed and plan is not None and plan.spec["operator"] in ("generalize", "keep"):
                continue
            residual.append({"column": column, "type": hit["type"], "share": hit["share"]})
    return {"rows_scanned": int(len(sample)), "columns": found, "residual": residual}


_PLACEHOLDER = re.compile(
    r"<[A-Z][A-Z0-9_]*>|\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])\b"
)


def _without_placeholders(value: Any) -> Any:
    """Our own ``<ENTITY>`` placeholders (NER reads ``<PHONE_NUMBER>`` as a name) and US state codes
    (allowed by Safe Harbor) are taken out of scrubbed text before it is re-scanned."""
    return _PLACEHOLDER.sub(" ", value) if isinstance(value, str) else value


def _class_keys(frame: pd.DataFrame, quasi: list[str]) -> pd.MultiIndex:
    keys = frame[quasi].astype(str).fillna("")
    return pd.MultiIndex.from_frame(keys) if len(quasi) > 1 else pd.MultiIndex.from_arrays([keys[quasi[0]]])


def enforce_k(dst: Any, quasi: list[str], frames: list[pd.Series], k: int, chunk_rows: int) -> dict[str, Any]:
    """Record suppression: in rows whose quasi-identifier class holds fewer than ``k`` rows, every
    quasi-identifier becomes ``*`` (a second pass over the output, read and rewritten through
    :mod:`compliance.datasets`). Returns the k-anonymity report after suppression over the rows
    left intact, with the number of rows suppressed."""
    sizes = pd.concat(frames).groupby(level=list(range(len(quasi))), dropna=False).sum()
    small = sizes[sizes < k].index
    small = small if isinstance(small, pd.MultiIndex) else pd.MultiIndex.from_arrays([small])
    # The pass reads the output while the writer fills its ``.partial`` sibling, renamed over the
    # output on commit (the reader keeps the old file open until then).
    writer = _writer(dst, like=dst if dst.format == "parquet" else None)
    suppressed = 0
    after: list[pd.Series] = []
    keep = frozenset()
    try:
        for chunk in _chunks(dst, chunk_rows):
            keep = frozenset(chunk.columns) - set(quasi)
            mask = _class_keys(chunk, quasi).isin(small)
            if mask.any():
                chunk = chunk.astype(dict.fromkeys(quasi, object))
                chunk.loc[mask, quasi] = "*"
                suppressed += int(mask.sum())
            writer.write(chunk, keep_types=keep)
            kept = chunk.loc[~mask, quasi]
            if len(kept):
                after.append(kept.astype(str).fillna("").groupby(quasi, dropna=False).size())
    except Exception:
        writer.abort()
        raise
    writer.commit()
    return k_anonymity(after, quasi, k) | {"rows_suppressed": suppressed}


def k_anonymity(frames: list[pd.Series], quasi: list[str], k: int) -> dict[str, Any]:
    """Equivalence classes over the quasi-identifiers of the whole output."""
    if not quasi or not frames:
        return {"quasi_identifiers": quasi, "k": None, "target_k": k}
    sizes = pd.concat(frames).groupby(level=list(range(len(quasi))), dropna=False).sum()
    below = sizes[sizes < k]
    return {
        "quasi_identifiers": quasi,
        "target_k": k,
        "k": int(sizes.min()),
        "equivalence_classes": int(len(sizes)),
        "classes_below_target": int(len(below)),
        "rows_below_target": int(below.sum()),
        "share_rows_below_target": round(float(below.sum()) / float(sizes.sum()), 4) if sizes.sum() else 0.0,
    }

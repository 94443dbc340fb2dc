"""Sampling and per-value analysis of one chunk of a source.

Sampling is *bottom-k by hashed row number*: every non-null cell gets a pseudo-random key
``splitmix64(seed, row)``; a column's sample is its k cells with the smallest keys. That is a
uniform sample without replacement of the non-null cells (nulls are skipped before sampling, so a
column that is 99% empty still gets k values), it is reproducible for a seed, and it merges: the
sample of a whole source is the k smallest keys over the samples of its chunks. Repeated values
count once per row (frequent values weigh what they weigh in the data) but are analysed once.

:func:`scan_chunk` returns a JSON-serialisable *chunk result*: per column the row and non-null
counts, the column's profile, and for each sampled cell its key and what the recognizers found
(entity, recognizer, score) -- never the value itself. Chunk results merge in :mod:`decision`.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from compliance.datasets.sources import ChunkSpec, Source
from compliance.scanning import gazetteer
from compliance.scanning.decision import decide_column, hinted_types, is_clear
from compliance.scanning.detect import names, places, special
from compliance.scanning.engine import Hit, get_engine

DEFAULT_SAMPLE = 1000
STAGE_ONE = 250  # cells analysed before deciding whether the column needs its full sample
MAX_TEXT = 2000  # characters of a free-text cell that are analysed

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

NAMEISH = re.compile(r"^[A-Z][A-Za-z'’.-]*(?: (?:[A-Z][A-Za-z'’.-]*|van|de|der|von|da|di|la|le)){0,3}$")
FLOATISH = re.compile(r"^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$|^[-+]?\d+\.\d*$")
MID_SENTENCE_CAPITAL = re.compile(r"(?<![.!?:;\"\n])(?<![.!?:;]\s)\s+[A-Z][a-z]")
WORD = re.compile(r"^[(\"'“]?[A-Za-z][a-z'’-]*[.,;:!?)\"'”]*$")
LOWER_NAME = re.compile(r"^[a-z][a-z'’.-]+(?: [a-z][a-z'’.-]+){1,3}$")
YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
ORG_MARKERS = re.compile(
    r"\b(LLC|L\.L\.C|Inc|Ltd|Limited|PLC|Corp|Corporation|Company|Co|Group|GmbH|AG|SA|Holdings|Partners|Associates|"
    r"Solutions|Systems|Technologies|Industries|International|Bank|University|Hospital|Clinic|Foundation|and|&)\b\.?"
)


def row_keys(seed: int, rows: np.ndarray) -> np.ndarray:
    """53-bit pseudo-random keys of global row numbers (splitmix64), identical however rows are chunked."""
    with np.errstate(over="ignore"):
        z = rows.astype(np.uint64) * _GOLDEN + np.uint64(seed & 0xFFFFFFFFFFFFFFFF) * _M2 + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.int64)


def _dtype_kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.CategoricalDtype):
        return "text"
    return "text"


class _ColumnSample:
    __slots__ = ("dtype", "keys", "kind", "nonnull", "values")

    def __init__(self, dtype: str, kind: str) -> None:
        self.dtype, self.kind = dtype, kind
        self.keys = np.empty(0, dtype=np.int64)
        self.values = np.empty(0, dtype=object)
        self.nonnull = 0


def sample_chunk(
    source: Source,
    chunk: ChunkSpec | None,
    *,
    k: int,
    seed: int,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, dict[str, _ColumnSample]]:
    """Stream a chunk and keep, per column, the k non-null cells with the smallest row keys."""
    rows = 0
    columns: dict[str, _ColumnSample] = {}
    for offset, df in source.read(chunk):
        n = len(df)
        rows += n
        batch_keys = row_keys(seed, np.arange(offset, offset + n, dtype=np.int64))  # shared by every column
        for name in df.columns:
            series = df[name]
            col_name = str(name)
            col = columns.get(col_name)
            if col is None:
                col = columns[col_name] = _ColumnSample(str(series.dtype), _dtype_kind(series))
            if col.kind == "bool":
                col.nonnull += int(series.notna().sum())
                continue
            mask = series.notna().to_numpy(dtype=bool, copy=True)
            if col.kind == "text" and pd.api.types.is_string_dtype(series.dtype):
                # blank strings are nulls too (vectorised; pyarrow-backed strings never reach Python here)
                mask &= series.str.strip().str.len().fillna(0).to_numpy(dtype=np.int64) > 0
            positions = np.flatnonzero(mask)
            col.nonnull += len(positions)
            if not len(positions):
                continue
            keys = batch_keys[positions]
            if len(keys) > k:
                keep = np.argpartition(keys, k - 1)[:k]
                keys, positions = keys[keep], positions[keep]
            if len(col.keys) >= k:
                # only cells that beat the current k-th smallest key can enter the sample
                better = keys < col.keys.max()
                keys, positions = keys[better], positions[better]
                if not len(keys):
                    continue
            values = series.iloc[positions].to_numpy(dtype=object)
            all_keys = np.concatenate([col.keys, keys])
            all_values = np.concatenate([col.values, values])
            if len(all_keys) > k:
                keep = np.argpartition(all_keys, k - 1)[:k]
                all_keys, all_values = all_keys[keep], all_values[keep]
            col.keys, col.values = all_keys, all_values
        if on_batch:
            on_batch(n)
    return rows, columns


def _stringify(values: np.ndarray, kind: str) -> tuple[str, list[str] | None, list[int | None]]:
    """(kind, strings or None when the column is not analysed, years for date-ish values)."""
    if kind == "float":
        as_float = pd.to_numeric(pd.Series(values), errors="coerce")
        if as_float.notna().all() and (as_float % 1 == 0).all():
            return "int", [str(int(v)) for v in as_float], []
        return "float", None, []
    if kind == "int":
        return "int", [str(int(v)) for v in values], []
    if kind == "datetime":
        stamps = pd.to_datetime(pd.Series(values), errors="coerce")
        return "datetime", None, [int(t.year) if not pd.isna(t) else None for t in stamps]
    strings: list[str] = []
    years: list[int | None] = []
    for v in values:
        if isinstance(v, bytes | bytearray | memoryview):
            return "binary", None, []
        if hasattr(v, "year") and hasattr(v, "month"):  # date, datetime, Timestamp in an object column
            return "datetime", None, [int(getattr(x, "year", 0)) or None for x in values]
        strings.append(str(v).strip()[:MAX_TEXT])
    if strings and sum(bool(FLOATISH.match(s)) for s in strings) >= 0.95 * len(strings):
        return "float", None, []
    return "text", strings, years


def _is_free_text(distinct: list[str]) -> bool:
    if not distinct:
        return False
    words = [s.split() for s in distinct]
    median_words = statistics.median(len(w) for w in words)
    # running text has lower-case words (addresses and full names are all capitalised tokens) and is
    # mostly words (user agents, paths and log lines are mostly versions, slashes and numbers)
    lower = statistics.median(sum(t[:1].islower() for t in w) / len(w) if w else 0 for w in words)
    wordy = statistics.median(sum(bool(WORD.match(t)) for t in w) / len(w) if w else 0 for w in words)
    return wordy >= 0.6 and (median_words >= 10 or (median_words >= 4 and lower >= 0.25))


def _suppress_person(text: str) -> bool:
    """Known NER false positives: company names ("Smith, Jones and Lee", "Acme LLC", "Smith-Jones")."""
    return ORG_MARKERS.search(text) is not None or bool(re.search(r"[A-Za-z]-[A-Z]", text))


def analyze_column(
    values: list[str],
    kind: str,
    hints: frozenset[str] | set[str] = frozenset(),
    *,
    mode: str | None = None,
    known: dict | None = None,
    row_ids: dict[str, list[str]] | None = None,
    cardinal: bool | None = None,
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Run the recognizers over the distinct sampled values of one column.

    Returns (mode, {value: {"h": [[entity, recognizer, score, whole]], "f": flags}}) where mode is
    ``structured`` or ``text`` and flags hold ``n`` (looks like a proper name), ``g`` (the census
    name gazetteer supports it as a full name), ``p`` (shaped like a place) and a year if any.

    ``row_ids`` maps a free-text value to the identifier values of its row (the table's name
    columns): found in the text they are PERSON (``RowIdentifierRecognizer``). ``cardinal``: whether
    the column has the many distinct values of a name column (single census names count only then:
    ``White``/``Green`` in a colour column are not surnames); computed from ``values`` when None.
    """
    engine = get_engine()
    distinct = [v for v in dict.fromkeys(values) if not known or v not in known]
    if cardinal is None:
        unique = len(set(values))
        cardinal = unique >= 20 and unique >= 0.2 * len(values)
    padded: dict[str, str] = {}
    if kind == "int" and "US_ZIP_CODE" in hints:
        # ZIP codes stored as integers lost their leading zeros (02134 -> 2134)
        padded = {v: v.zfill(5) for v in distinct if 3 <= len(v) <= 4}
    if mode is None:
        mode = "text" if kind == "text" and _is_free_text(distinct) else "structured"
    out: dict[str, dict[str, Any]] = {}
    raw_text: dict[str, list] = {}
    ner_values: list[str] = []
    ner_input: dict[str, str] = {}
    for value in distinct:
        if mode == "text":
            raw_text[value] = engine.analyze_text(value) + names.person_spans(
                value, known=row_ids.get(value, ()) if row_ids else ()
            )
            if MID_SENTENCE_CAPITAL.search(value):  # no capitalised word inside a sentence: nothing for NER
                ner_values.append(value)
            out[value] = {"h": [], "f": ""}
            continue
        hits = engine.analyze_structured(padded.get(value, value), hints)
        flags = ""
        support = names.value_support(value) if value[:1].isupper() else ""
        if (support == "full" or (support and cardinal)) and not any(h.entity == "LOCATION" for h in hits):
            # census names (issue 13 class 3/4): a full name, or a single first name / surname in a
            # column with the many distinct values of a name column
            hits.append(Hit("PERSON", "NameGazetteerRecognizer", 0.85 if support == "full" else 0.6, True))
            flags += "g" if support == "full" else ""
        if " " in value and value[:1].isupper() and names.starts_with_first_name(value):
            flags += "f"
        if value[:1].isupper() and places.place_shape(value) and not any(h.entity == "LOCATION" for h in hits):
            hits.append(Hit("LOCATION", "PlaceShapeRecognizer", 0.6 if not places.suffix_shape(value) else 0.5, True))
            flags += "p"
        if NAMEISH.match(value) and not hits:
            flags += "n"
            ner_values.append(value)
        elif NAMEISH.match(value):
            flags += "n"
        elif not hits and hints & {"PERSON", "LOCATION"} and LOWER_NAME.match(value):
            # "maria lopez" under a name-like column: NER needs capitals, so it sees "Maria Lopez"
            flags += "n"
            ner_values.append(value)
            ner_input[value] = value.title()
        year = YEAR.search(value) if any(h.entity == "DATE_TIME" for h in hits) else None
        if year:
            flags += f"y{year.group(1)}"
        hits.extend(Hit(e, special.RECOGNIZER, score, True) for e, score in special.cell_hits(value, text=False))
        out[value] = {"h": [[h.entity, h.recognizer, round(h.score, 3), int(h.whole)] for h in hits], "f": flags}
    if mode == "text":
        # Pattern hits stand on their own: a cell NER does not see ("member called from 415-555-0100,
        # reply to user0@example.com.") keeps them; a cell NER sees gets them back merged with its spans.
        sent = set(ner_values)
        for value, raw in raw_text.items():
            if value not in sent:
                out[value]["h"] = [
                    [h.entity, h.recognizer, round(h.score, 3), int(h.whole)] for h in engine.resolve_text(raw, value)
                ]
    ner = engine.ner_batch([ner_input.get(v, v)[:1000] for v in ner_values]) if ner_values else []
    for value, spans in zip(ner_values, ner, strict=True):
        spans = [r for r in spans if not (r[0] == "PERSON" and _suppress_person(value[r[3] : r[4]] if mode == "text" else value))]
        if mode == "text":
            hits = engine.resolve_text(raw_text[value] + spans, value)
        else:
            stripped = len(value.strip())
            hits = [Hit(r[0], r[1], r[2], (r[4] - r[3]) >= 0.6 * stripped) for r in spans]
        out[value]["h"].extend([h.entity, h.recognizer, round(h.score, 3), int(h.whole)] for h in hits)
    if mode == "text":
        for value in raw_text:
            out[value]["h"].extend([e, special.RECOGNIZER, score, 0] for e, score in special.cell_hits(value, text=True))
    return mode, out


def scan_chunk(
    source: Source,
    chunk: ChunkSpec | None = None,
    *,
    k: int = DEFAULT_SAMPLE,
    seed: int = 0,
    column_hints: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Sample and analyse one chunk; the JSON-serialisable chunk result (no raw values)."""
    rows, columns = sample_chunk(source, chunk, k=k, seed=seed, on_batch=on_batch)
    # "order": the source's column order -- a chunk result is stored as JSON, and PostgreSQL's jsonb
    # does not keep the order of an object's keys
    result: dict[str, Any] = {"rows": rows, "columns": {}, "order": list(columns)}
    prepared: dict[str, tuple] = {}
    for name, col in columns.items():
        order = np.argsort(col.keys, kind="stable")
        # the keys as Python ints once (iterating a NumPy array makes a NumPy scalar per cell)
        keys, values = col.keys[order].tolist(), col.values[order]
        kind, strings, years = _stringify(values, col.kind) if len(values) else (col.kind, None, [])
        free = bool(strings) and kind == "text" and _is_free_text(list(dict.fromkeys(strings[:STAGE_ONE])))
        prepared[name] = (col, keys, kind, strings, years, free)
    # Structured columns first: the name columns they reveal are the identifiers that free-text
    # columns of the same rows are searched for (issue 13 class 4: the patient's name in the notes).
    identifiers: dict[int, list[str]] = {}
    ordered = [n for n in columns if not prepared[n][5]] + [n for n in columns if prepared[n][5]]
    for name in ordered:
        col, keys, kind, strings, years, free = prepared[name]
        if on_batch:
            on_batch(0)  # lets the caller stop between columns too (cancellation)
        entry: dict[str, Any] = {"dtype": col.dtype, "kind": kind, "nonnull": int(col.nonnull), "mode": "skip", "samples": []}
        if strings is not None and strings:
            hints = hinted_types(name) if column_hints else frozenset()
            row_ids = None
            if free and identifiers:
                row_ids = {}
                for key, s in zip(keys, strings, strict=True):
                    parts = identifiers.get(key)
                    if parts:  # first_name + last_name columns: the full name too
                        row_ids.setdefault(s, []).extend([*parts, " ".join(parts)] if len(parts) >= 2 else parts)
            # Stage 1 analyses the first STAGE_ONE cells by key (itself a uniform sample); the rest of
            # the sample only when some type's share is near its bar (see decision.is_clear).
            m = min(STAGE_ONE, len(strings))
            mode, analysed = analyze_column(strings[:m], kind, hints, mode="text" if free else "structured", row_ids=row_ids)
            entry["mode"] = mode
            entry["samples"] = [[key, analysed[s]["h"], analysed[s]["f"]] for key, s in zip(keys[:m], strings[:m], strict=True)]
            cardinal = len(set(strings[:m])) >= 20 and len(set(strings[:m])) >= 0.2 * m
            if m < len(strings) and not is_clear(name, entry, column_hints=column_hints):
                _mode, more = analyze_column(
                    strings[m:], kind, hints, mode=mode, known=analysed, row_ids=row_ids, cardinal=cardinal
                )
                analysed.update(more)
                entry["samples"] = [[key, analysed[s]["h"], analysed[s]["f"]] for key, s in zip(keys, strings, strict=True)]
            entry["profile"] = _profile(strings, kind)
            person_hits = mode == "structured" and any(h[0] == "PERSON" for _k, hs, _f in entry["samples"] for h in hs)
            if person_hits and any(f["type"] == "PERSON" for f in decide_column(name, entry, column_hints=column_hints)):
                for key, s in zip(keys, strings, strict=True):
                    identifiers.setdefault(key, []).append(s)
        elif kind == "datetime":
            entry["mode"] = "date"
            entry["samples"] = [
                [int(key), [["DATE_TIME", "DatetimeType", 1.0, 1]], f"y{y}" if y else ""]
                for key, y in zip(keys, years, strict=True)
            ]
        else:
            entry["samples"] = []
        # complete: the sample holds every non-null cell of the chunk (merging needs to know)
        entry["complete"] = len(entry["samples"]) >= entry["nonnull"]
        result["columns"][name] = entry
    result["columns"] = {name: result["columns"][name] for name in columns}
    return result


def _profile(strings: list[str], kind: str) -> dict[str, float]:
    """Column-level value evidence no single cell shows (no values kept).

    ``zip5``/``postcode``/``density``: the share of cells shaped like a US ZIP code, like any
    postcode (European shapes too), and how densely the numbers fill their range (row ids do, ZIP
    codes do not). ``diversity``: for a column of multi-word
    capitalised values, distinct first words and distinct last words (the smaller) per distinct
    value -- people's names rarely repeat either; a catalogue reuses its vocabulary (``Pro Espresso
    Grinder``, ``Mini Espresso Grinder``).
    """
    n = len(strings)
    if not n or kind not in ("int", "text"):
        return {}
    profile: dict[str, float] = {"n": n}
    zips = [
        s
        for s in strings
        if (len(s) == 5 and s.isdigit())
        or (kind == "int" and s.isdigit() and 3 <= len(s) <= 5)
        or (len(s) == 10 and s[5] == "-" and s[:5].isdigit() and s[6:].isdigit())  # ZIP+4
    ]
    # other postcodes are counted only where ZIP-shaped cells can reach their 30% (the test below)
    others = sum(1 for s in strings if gazetteer.POSTCODE_SHAPES.match(s.upper())) if len(zips) >= 0.3 * n else 0
    # postcodes are written at their full length ("02134"); counts and amounts have 1-4 digits too
    if len(zips) + others >= 0.97 * n and len(zips) >= 0.3 * n:
        numbers = sorted({int(s[:5]) for s in zips})
        profile["zip5"] = round(len(zips) / n, 4)
        profile["postcode"] = round((len(zips) + others) / n, 4)
        profile["density"] = round(len(numbers) / (numbers[-1] - numbers[0] + 1), 4)
    multi = list({s for s in strings if " " in s and s[:1].isupper() and len(s) <= 80})
    if len(multi) >= 30 and len(multi) >= 0.3 * len(set(strings)):
        firsts = {s.split()[0] for s in multi}
        lasts = {s.split()[-1] for s in multi}
        profile["diversity"] = round(min(len(firsts), len(lasts)) / len(multi), 4)
    return profile if len(profile) > 1 else {}

"""Column-level precision and recall of the PII scanner on the labelled evaluation sets.

    .venv/bin/python bench/scan_accuracy.py [--data bench/data/scan] [--corpus bench/data/scan_corpus]
        [--sample 1000] [--seed 0] [--no-sample4] [--naive]

Counts (table, column, entity type) pairs: a true positive is a type the scanner reports on a
column whose label holds it. Prints every miss and false alarm (column names and types only), and
the scores for all types, for the PII types alone (comparable with the figures before GDPR Art. 9
types were labelled) and for the Art. 9 special categories alone.

Two data sets, both committed and synthetic: the evaluation set (``--data``) and the issue-13
corpus of ``bench/scan_corpus.py`` (``--corpus``, seed 13; regenerated only when missing). Each is
scored twice: with the column names (``column_hints=True``) and without them (``column_hints=False``:
content only, as if every column were called ``f00``, ``f01``, ...). For the corpus it also prints
cell-level recall inside free text: every cell of each free-text column is analysed (no sampling),
with the values of the row's name columns (the columns the scanner itself decides are PERSON) as
that row's known identifiers, and a planted PERSON / PHONE_NUMBER / EMAIL_ADDRESS / US_SSN counts as
found when that cell's hits hold its type; it is printed with and without the row identifiers. The
column scores are repeated at 4x the sample (the sampling check: they should be equal) unless
``--no-sample4``. ``--naive`` also scores naive Presidio (every sampled cell through
AnalyzerEngine, a type is reported when it is found in at least 10% of a column's cells) on the
evaluation set, for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CUSTOS_ENV", "development")
# The labelled tables are tracked in git: named explicitly as a data root for the datasets rule.
os.environ.setdefault(
    "CUSTOS_DATA_ROOTS", f"{REPO / 'bench' / 'data' / 'scan'},{REPO / 'bench' / 'data' / 'scan_corpus'},{REPO / 'var' / 'bench'}"
)
CELL_TYPES = ("PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN")
ART9 = {"RACE_ETHNICITY", "POLITICAL_OPINION", "RELIGION", "TRADE_UNION", "GENETIC", "BIOMETRIC", "HEALTH_DATA",
        "SEXUAL_ORIENTATION"}  # fmt: skip


def only(predicted: dict, labels: dict, keep) -> tuple[dict, dict]:
    """The predictions and labels restricted to the entity types ``keep`` accepts."""
    return (
        {k: {t for t in v if keep(t)} for k, v in predicted.items()},
        {table: {c: [t for t in ts if keep(t)] for c, ts in cols.items()} for table, cols in labels.items()},
    )


def score(predicted: dict[tuple[str, str], set[str]], labels: dict[str, dict[str, list[str]]]) -> tuple[float, float, list, list]:
    tp, fp, fn = 0, [], []
    for table, columns in labels.items():
        for column, truth in columns.items():
            got = predicted.get((table, column), set())
            tp += len(got & set(truth))
            fp += [(table, column, t) for t in sorted(got - set(truth))]
            fn += [(table, column, t) for t in sorted(set(truth) - got)]
    precision = tp / (tp + len(fp)) if tp + len(fp) else 1.0
    recall = tp / (tp + len(fn)) if tp + len(fn) else 1.0
    return precision, recall, fp, fn


def naive_predictions(data: Path, labels: dict, cells_per_column: int) -> dict[tuple[str, str], set[str]]:
    from bench.scan_speed import naive_analyzer, read_table

    analyzer = naive_analyzer()
    predicted = {}
    for table in labels:
        df = read_table(data / table)
        for column in df.columns:
            values = [str(v) for v in df[column].dropna().head(cells_per_column)]
            counts: dict[str, int] = {}
            for value in values:
                for entity in {r.entity_type for r in analyzer.analyze(value, language="en")}:
                    counts[entity] = counts.get(entity, 0) + 1
            predicted[(table, str(column))] = {e for e, c in counts.items() if values and c / len(values) >= 0.1}
    return predicted


def predictions(data: Path, labels: dict, *, sample: int, seed: int, hints: bool) -> dict[tuple[str, str], set[str]]:
    from compliance.scanning.scanner import scan_path

    predicted: dict[tuple[str, str], set[str]] = {}
    for table in labels:
        result = scan_path(data / table, sample_size=sample, seed=seed, column_hints=hints)
        for column in result.columns:
            predicted[(table, column.name)] = column.entity_types
    return predicted


def report(title: str, data: Path, labels: dict, *, sample: int, seed: int, hints: bool) -> dict[str, tuple[float, float]]:
    started = time.perf_counter()
    predicted = predictions(data, labels, sample=sample, seed=seed, hints=hints)
    precision, recall, fp, fn = score(predicted, labels)
    pairs = sum(len(t) for cols in labels.values() for t in cols.values())
    columns = sum(len(cols) for cols in labels.values())
    print(
        f"{title}: {len(labels)} tables, {columns} columns, {pairs} labelled pairs, sample {sample}, "
        f"{time.perf_counter() - started:.1f} s"
    )
    for table, column, entity in fp:
        print(f"  false alarm: {table}:{column} {entity}")
    for table, column, entity in fn:
        print(f"  missed:      {table}:{column} {entity}")
    pii_p, pii_r, _, _ = score(*only(predicted, labels, lambda t: t not in ART9))
    art_p, art_r, _, _ = score(*only(predicted, labels, lambda t: t in ART9))
    print(
        f"  precision {precision:.3f}  recall {recall:.3f}   (PII types {pii_p:.3f} / {pii_r:.3f}, Art. 9 {art_p:.3f} / {art_r:.3f})"
    )
    return {"all": (precision, recall), "pii": (pii_p, pii_r), "art9": (art_p, art_r)}


def cell_recall(data: Path, *, row_identifiers: bool = True) -> dict[str, tuple[int, int]]:
    """Per type: (cells where it was found, cells where it was planted), over every free-text cell.

    With ``row_identifiers`` each cell is analysed knowing its row's values of the table's name
    columns -- those the scanner decides are PERSON (structured), as ``scan_chunk`` does."""
    from bench.scan_speed import read_table
    from compliance.scanning.analysis import analyze_column
    from compliance.scanning.scanner import scan_path

    truth = json.loads((data / "cells.json").read_text())
    counts = {t: [0, 0] for t in CELL_TYPES}
    for table, columns in truth.items():
        df = read_table(data / table)
        name_columns = []
        if row_identifiers:
            result = scan_path(data / table)
            name_columns = [c.name for c in result.columns if c.mode == "structured" and "PERSON" in c.entity_types]
        for column, planted in columns.items():
            values = df[column].tolist()
            texts = [str(v).strip() for v in values if isinstance(v, str) and v.strip()]
            row_ids: dict[str, list[str]] = {}
            for i, value in enumerate(values):
                if isinstance(value, str) and value.strip() and name_columns:
                    ids = [str(df[c].iloc[i]) for c in name_columns if isinstance(df[c].iloc[i], str)]
                    row_ids.setdefault(value.strip(), []).extend([*ids, " ".join(ids)] if len(ids) >= 2 else ids)
            _mode, analysed = analyze_column(texts, "text", mode="text", row_ids=row_ids or None)
            for value, want in zip(values, planted, strict=True):
                if not isinstance(value, str) or not value.strip():
                    continue
                got = {h[0] for h in analysed[value.strip()]["h"]}
                for entity in want:
                    if entity not in counts:
                        continue
                    counts[entity][1] += 1
                    counts[entity][0] += entity in got
    return {t: (found, total) for t, (found, total) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "scan")
    parser.add_argument("--corpus", type=Path, default=REPO / "bench" / "data" / "scan_corpus")
    parser.add_argument("--corpus-seed", type=int, default=13)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sample4", action="store_true", help="skip the scores at 4x the sample")
    parser.add_argument("--naive", action="store_true", help="also score naive Presidio (slow: ~200 cells per column)")
    args = parser.parse_args()
    # the datasets rule reads a relative path under the first data root: name the directories absolutely
    args.data, args.corpus = args.data.resolve(), args.corpus.resolve()
    import django

    django.setup()
    if not (args.corpus / "labels.json").exists():
        from bench.scan_corpus import build, write

        write(*build(args.corpus_seed, 1500), args.corpus)
        print(f"generated the corpus (seed {args.corpus_seed}) in {args.corpus}")

    samples = [args.sample] if args.no_sample4 else [args.sample, 4 * args.sample]
    summary = []
    for name, data in (("evaluation set", args.data), ("issue-13 corpus", args.corpus)):
        labels = json.loads((data / "labels.json").read_text())
        for sample in samples:
            for hints in (True, False):
                title = f"{name}, {'with column names' if hints else 'without column names'}"
                summary.append((title, sample, report(title, data, labels, sample=sample, seed=args.seed, hints=hints)))
    for with_ids in (True, False):
        label = "with the row's name columns" if with_ids else "text alone"
        print(f"free-text cell recall (issue-13 corpus, every cell analysed, {label}):")
        for entity, (found, total) in cell_recall(args.corpus, row_identifiers=with_ids).items():
            print(f"  {entity:<14} {found:5d} / {total:5d}  recall {found / total if total else 1.0:.3f}")
    print("summary (precision / recall):                                        all types       PII types       Art. 9")
    for title, sample, scores in summary:
        cols = "   ".join(f"{scores[k][0]:.3f} / {scores[k][1]:.3f}" for k in ("all", "pii", "art9"))
        print(f"  {title:<52} sample {sample:5d}  {cols}")
    if len(samples) == 2:
        by = {(t, s): sc for t, s, sc in summary}
        same = all(by[(t, samples[0])] == by[(t, samples[1])] for t, _s, _sc in summary)
        print(f"sampling check: scores at sample {samples[0]} {'equal' if same else 'DIFFER from'} those at {samples[1]}")
    if args.naive:
        labels = json.loads((args.data / "labels.json").read_text())
        n_precision, n_recall, _, _ = score(naive_predictions(args.data, labels, 200), labels)
        print(
            f"naive Presidio (200 cells per column, type kept at >=10% of cells): precision {n_precision:.3f}  recall {n_recall:.3f}"
        )


if __name__ == "__main__":
    main()

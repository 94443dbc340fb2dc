"""Column-level precision and recall of the PII scanner on the labelled evaluation set.

    .venv/bin/python bench/scan_accuracy.py [--data bench/data/scan] [--sample 1000] [--seed 0] [--naive]

Counts (table, column, entity type) pairs: a true positive is a type the scanner reports on a
column whose label holds it. Prints every miss and false alarm (column names and types only).
``--naive`` also scores naive Presidio (every sampled cell through AnalyzerEngine, a type is
reported when it is found in at least 10% of a column's cells) on the same columns, for comparison.
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
os.environ.setdefault("CUSTOS_DATA_ROOTS", str(REPO / "bench" / "data" / "scan"))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "bench" / "data" / "scan")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive", action="store_true", help="also score naive Presidio (slow: ~200 cells per column)")
    args = parser.parse_args()

    from compliance.scanning.scanner import scan_path

    labels = json.loads((args.data / "labels.json").read_text())
    predicted: dict[tuple[str, str], set[str]] = {}
    started = time.perf_counter()
    for table in labels:
        result = scan_path(args.data / table, sample_size=args.sample, seed=args.seed)
        for column in result.columns:
            predicted[(table, column.name)] = column.entity_types
    seconds = time.perf_counter() - started
    precision, recall, fp, fn = score(predicted, labels)
    pairs = sum(len(t) for cols in labels.values() for t in cols.values())
    columns = sum(len(cols) for cols in labels.values())
    print(f"scanner: {len(labels)} tables, {columns} columns, {pairs} labelled (column, entity) pairs, {seconds:.1f} s")
    for table, column, entity in fp:
        print(f"  false alarm: {table}:{column} {entity}")
    for table, column, entity in fn:
        print(f"  missed:      {table}:{column} {entity}")
    print(f"precision {precision:.3f}  recall {recall:.3f}")
    if args.naive:
        n_precision, n_recall, _, _ = score(naive_predictions(args.data, labels, 200), labels)
        print(
            f"naive Presidio (200 cells per column, type kept at >=10% of cells): precision {n_precision:.3f}  recall {n_recall:.3f}"
        )


if __name__ == "__main__":
    main()

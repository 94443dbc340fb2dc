"""GET /metrics speed: Custos's exposition read from the database against prometheus-client's own
exposition of the same samples built in memory, in the same run.

    .venv/bin/python bench/metrics.py [--versions 1000] [--features 50] [--repeat 5]

* Database: a fresh SQLite database (migrated in a temporary directory) holding --versions model
  versions, one monitor each, one successful run each with --features drift results, a dataset-drift
  result and 7 data-quality results, and one open alert per monitor (bulk inserted; no statistics run).
* **Custos**: ``GET /metrics`` through Django's test client with the bearer token: the request, the
  database reads (latest run per monitor, its results, alert and run counts), the families built
  with prometheus-client's ``GaugeMetricFamily`` and ``generate_latest``.
* **Baseline**: the very samples of that answer (parsed back) set on prometheus-client ``Gauge``
  objects in a fresh ``CollectorRegistry``, one gauge per sample name (histogram buckets, sums and
  counts, counter totals each their own gauge); the time of ``generate_latest(registry)`` alone.
* Figure: median over --repeat of each, measured interleaved (one answer, one baseline, ...) so both
  see the same load, and the ratio (target: at most 2x). Both outputs are checked to hold the same
  number of samples. The load average is printed with the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CUSTOS_ENV", "development")


def setup_db(versions: int, features: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="custos-bench-metrics-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["CUSTOS_LEDGER_KEY_FILE"] = str(tmp / "ledger.key")
    os.environ["CUSTOS_METRICS_TOKEN"] = "bench-token"
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from catalog.models import DataAsset, DataSource, MLModel, ModelVersion
    from monitoring.models import Alert, Monitor, MonitorResult, MonitorRun

    call_command("migrate", verbosity=0)
    now = timezone.now()
    with transaction.atomic():
        source = DataSource.objects.create(name="bench", kind="file_share", namespace="file://bench")
        asset = DataAsset.objects.create(source=source, qualified_name="bench.reference", name="reference")
        models = MLModel.objects.bulk_create([MLModel(name=f"model-{i:04d}") for i in range(versions)])
        mvs = ModelVersion.objects.bulk_create([ModelVersion(model=m, version="1.0") for m in models])
        monitors = Monitor.objects.bulk_create(
            [Monitor(model_version=v, name="inputs", reference_asset=asset) for v in mvs], batch_size=500
        )
        runs = MonitorRun.objects.bulk_create(
            [MonitorRun(monitor=m, status="succeeded", finished_at=now, rows=10_000) for m in monitors], batch_size=500
        )
        results = []
        for k, run in enumerate(runs):
            for j in range(features):
                score = ((k * 31 + j * 17) % 1000) / 2000.0
                results.append(
                    MonitorResult(
                        run=run,
                        kind="drift",
                        name=f"feature_{j:02d}",
                        method="wasserstein",
                        score=score,
                        threshold=0.1,
                        flagged=score >= 0.1,
                    )
                )
            results.append(MonitorResult(run=run, kind="dataset_drift", name="dataset", score=0.3, threshold=0.5))
            for check in (
                "schema",
                "row_count",
                "freshness",
                "null_share:feature_00",
                "null_share:feature_01",
                "out_of_range:feature_00",
                "uniqueness:prediction_id",
            ):
                results.append(
                    MonitorResult(run=run, kind="quality", name=check, method=check.split(":")[0], score=0.0, threshold=0.05)
                )
        MonitorResult.objects.bulk_create(results, batch_size=5000)
        Alert.objects.bulk_create(
            [Alert(monitor=m, kind="drift", subject="feature_00", message="bench") for m in monitors], batch_size=500
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", type=int, default=1000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    setup_db(args.versions, args.features)
    print(f"database: {args.versions} model versions x {args.features} features, built in {time.perf_counter() - t0:.1f} s")

    from django.test import Client
    from prometheus_client import CollectorRegistry, Gauge, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    client = Client()

    def scrape() -> bytes:
        r = client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench-token")
        assert r.status_code == 200, r.status_code
        return r.content

    scrape()  # warm-up; its own request shows in the HTTP families from the next answer on
    body = scrape()  # gives the samples of the baseline (later answers hold the same samples)
    families = list(text_string_to_metric_families(body.decode()))
    n_samples = sum(len(f.samples) for f in families)
    registry = CollectorRegistry(auto_describe=False)
    # One Gauge per sample name: a histogram family's `_bucket` samples carry `le` while its `_sum` and
    # `_count` do not, and a counter's samples are `_total`/`_created`, so a family is not one label set.
    by_name: dict[str, list] = {}
    for fam in families:
        for s in fam.samples:
            by_name.setdefault(s.name, []).append(s)
    for name, samples in by_name.items():
        names = sorted(samples[0].labels)
        assert all(sorted(s.labels) == names for s in samples), name
        gauge = Gauge(name, name, labelnames=names, registry=registry)
        for s in samples:
            (gauge.labels(*[s.labels[n] for n in names]) if names else gauge).set(s.value)
    out = generate_latest(registry)  # warm-up of the baseline, not counted
    base_samples = sum(len(f.samples) for f in text_string_to_metric_families(out.decode()))
    assert base_samples == n_samples, (base_samples, n_samples)

    # Interleaved (ours, baseline, ours, ...) so both see the same load on this shared machine.
    ours, base = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        body = scrape()
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = generate_latest(registry)
        base.append(time.perf_counter() - t)
    families = list(text_string_to_metric_families(body.decode()))
    assert sum(len(f.samples) for f in families) == n_samples

    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"samples: {n_samples} in both expositions ({len(body) / 1e6:.1f} MB)")
    print(f"custos GET /metrics (database -> exposition): median {m_ours * 1000:.0f} ms over {args.repeat}")
    db = next(f for f in families if f.name == "custos_metrics_database_seconds").samples[0].value
    print(f"  of which reading the database (last answer): {db * 1000:.0f} ms")
    print(f"prometheus-client generate_latest, same samples in memory: median {m_base * 1000:.0f} ms")
    print(f"ratio custos / in-memory: {m_ours / m_base:.2f}x (target <= 2x)")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1/5/15 min): {load} on {os.cpu_count()} cores (shared machine: other jobs run too)")


if __name__ == "__main__":
    main()

"""``GET /metrics``: Prometheus exposition (prometheus-client) of every monitor's latest results, read
from the database at scrape time, so every worker's runs show whatever process answers.

Families (prefix ``custos_``; ratios are 0..1; no row, prediction or batch ids as labels). Labels
``model``, ``model_version``, ``monitor`` on all monitor families:

* ``custos_drift_score{feature, method}``            latest drift score (p-value or distance)
* ``custos_drift_threshold{feature, method}``        the threshold it was judged against
* ``custos_drift_detected{feature, method}``         1 when the feature drifted
* ``custos_dataset_drift_share``                     share of drifted features (ratio)
* ``custos_dataset_drift``                           1 when the dataset drifted
* ``custos_multivariate_score{method}``             PCA reconstruction error of the latest window
* ``custos_multivariate_drift{method}``             1 when it is outside its band
* ``custos_data_quality_score{check, column}``       the check's score (shares are ratios; rows, minutes)
* ``custos_data_quality_failed{check, column}``      1 when the check failed
* ``custos_performance{metric, estimated}``          realized or CBPE-estimated metric
* ``custos_performance_failed{metric, estimated}``   1 outside the reference bounds
* ``custos_concept_drift{detector}``                 1 when the detector fired in the latest run
* ``custos_alerts{state}``                           alerts per state (open, acknowledged, resolved)
* ``custos_monitor_last_run_timestamp_seconds``      when the latest successful run finished
* ``custos_monitor_runs{status}``                    runs per status (all monitors)
* ``custos_asset_quality_score{asset, suite, check, column}``  per-asset quality suite: latest check score
* ``custos_asset_quality_failed{asset, suite, check, column}`` 1 when that check failed
* ``custos_asset_quality_alerts{asset, suite, state}``         the suite's alerts per state
* ``custos_asset_quality_last_run_timestamp_seconds{asset, suite}``  when its latest successful run finished
* ``custos_metrics_database_seconds``                time this scrape spent reading the database
* ``custos_celery_queue_length{queue}``              tasks waiting on a Redis broker's queue (absent
                                                     when the broker is not Redis)
* ``custos_celery_broker_up``                        1 when the Redis broker answered within 0.5 s
* ``custos_django_http_*``                           requests, responses by view, method and status,
                                                     latency histograms (django-prometheus middleware;
                                                     labels are view names, never paths)
* ``custos_django_db_*``                             connections, queries, errors and query time by
                                                     database alias and vendor
* ``process_*``, ``python_*``                        the serving process (prometheus-client)

Access: ``CUSTOS_METRICS_TOKEN`` (``Authorization: Bearer <token>``) or ``CUSTOS_METRICS_ALLOW`` (client
addresses or CIDR blocks, comma separated), from settings or the environment; with neither set the
endpoint answers 404 (closed by default).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Max
from django.http import Http404, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.choices import RunStatus

from .choices import AlertState, ResultKind

MONITOR_LABELS = ["model", "model_version", "monitor"]
SUITE_LABELS = ["asset", "suite"]  # the asset's qualified name and the suite's name


def _setting(name: str) -> str:
    return str(getattr(settings, name, None) or os.environ.get(name, "") or "")


def allowed(request) -> bool:
    """The request carries the metrics token, or comes from an allowed address."""
    token = _setting("CUSTOS_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return True
    allow = [a.strip() for a in _setting("CUSTOS_METRICS_ALLOW").split(",") if a.strip()]
    if allow:
        try:
            client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(a, strict=False) for a in allow)
    return False


def configured() -> bool:
    return bool(_setting("CUSTOS_METRICS_TOKEN") or _setting("CUSTOS_METRICS_ALLOW"))


class DatabaseCollector:
    """Builds every family from a handful of queries: the latest successful run per monitor, its
    results, alert counts, run counts."""

    def collect(self):
        from .models import (
            Alert,
            Monitor,
            MonitorResult,
            MonitorRun,
            QualityAlert,
            QualityCheckResult,
            QualityRun,
            QualitySuite,
            window_q,
        )

        t0 = time.perf_counter()
        labels = {
            pk: (model, version, name)
            for pk, name, version, model in Monitor.objects.values_list(
                "pk", "name", "model_version__version", "model_version__model__name"
            ).order_by()
        }
        latest = dict(
            MonitorRun.objects.filter(window_q())
            .values("monitor")
            .annotate(last=Max("pk"))
            .order_by()
            .values_list("last", "monitor")
        )
        finished = dict(MonitorRun.objects.filter(pk__in=list(latest)).values_list("monitor", "finished_at").order_by())
        results = list(
            MonitorResult.objects.filter(run_id__in=list(latest))
            .values_list("run_id", "kind", "name", "method", "score", "threshold", "flagged")
            .order_by()
        )
        alerts = list(Alert.objects.values_list("monitor", "state").annotate(n=Count("pk")).order_by())
        runs = list(MonitorRun.objects.values_list("status").annotate(n=Count("pk")).order_by())
        suite_labels = {
            pk: (asset, name)
            for pk, name, asset in QualitySuite.objects.values_list("pk", "name", "asset__qualified_name").order_by()
        }
        suite_latest = dict(
            QualityRun.objects.filter(status=RunStatus.SUCCEEDED)
            .values("suite")
            .annotate(last=Max("pk"))
            .order_by()
            .values_list("last", "suite")
        )
        suite_finished = dict(QualityRun.objects.filter(pk__in=list(suite_latest)).values_list("suite", "finished_at").order_by())
        suite_results = list(
            QualityCheckResult.objects.filter(run_id__in=list(suite_latest))
            .values_list("run_id", "check_name", "column", "score", "flagged")
            .order_by()
        )
        suite_alerts = list(QualityAlert.objects.values_list("suite", "state").annotate(n=Count("pk")).order_by())
        db_seconds = time.perf_counter() - t0

        feat = MONITOR_LABELS + ["feature", "method"]
        score = GaugeMetricFamily("custos_drift_score", "Latest drift score per feature (p-value or distance).", labels=feat)
        thr = GaugeMetricFamily("custos_drift_threshold", "Threshold the drift score was judged against.", labels=feat)
        det = GaugeMetricFamily("custos_drift_detected", "1 when the feature drifted in the latest run.", labels=feat)
        share = GaugeMetricFamily("custos_dataset_drift_share", "Share of drifted features (0-1).", labels=MONITOR_LABELS)
        ddrift = GaugeMetricFamily("custos_dataset_drift", "1 when the dataset drifted in the latest run.", labels=MONITOR_LABELS)
        ml = MONITOR_LABELS + ["method"]
        mscore = GaugeMetricFamily("custos_multivariate_score", "Latest multivariate drift score.", labels=ml)
        mdrift = GaugeMetricFamily("custos_multivariate_drift", "1 when the multivariate score is outside its band.", labels=ml)
        ql = MONITOR_LABELS + ["check", "column"]
        qscore = GaugeMetricFamily("custos_data_quality_score", "Latest data-quality check score.", labels=ql)
        qfail = GaugeMetricFamily("custos_data_quality_failed", "1 when the data-quality check failed.", labels=ql)
        pl = MONITOR_LABELS + ["metric", "estimated"]
        perf = GaugeMetricFamily("custos_performance", "Latest realized or estimated (CBPE) performance metric.", labels=pl)
        pfail = GaugeMetricFamily("custos_performance_failed", "1 when the metric is outside its reference bounds.", labels=pl)
        concept = GaugeMetricFamily(
            "custos_concept_drift",
            "1 when the concept-drift detector fired in the latest run.",
            labels=MONITOR_LABELS + ["detector"],
        )
        add_score, add_thr, add_det = score.add_metric, thr.add_metric, det.add_metric
        for run_id, kind, name, method, value, threshold, flagged in results:
            mon = labels.get(latest[run_id])
            if mon is None or value is None:
                continue
            flag = 1.0 if flagged else 0.0
            if kind == ResultKind.DRIFT:
                lv = [*mon, name, method]
                add_score(lv, value)
                if threshold is not None:
                    add_thr(lv, threshold)
                add_det(lv, flag)
            elif kind == ResultKind.DATASET_DRIFT:
                share.add_metric(list(mon), value)
                ddrift.add_metric(list(mon), flag)
            elif kind == ResultKind.MULTIVARIATE:
                mscore.add_metric([*mon, method], value)
                mdrift.add_metric([*mon, method], flag)
            elif kind == ResultKind.QUALITY:
                check, _, column = name.partition(":")
                qscore.add_metric([*mon, check, column], value)
                qfail.add_metric([*mon, check, column], flag)
            elif kind in (ResultKind.PERFORMANCE, ResultKind.ESTIMATED):
                lv = [*mon, name, "true" if kind == ResultKind.ESTIMATED else "false"]
                perf.add_metric(lv, value)
                pfail.add_metric(lv, flag)
            elif kind == ResultKind.CONCEPT:
                concept.add_metric([*mon, name], flag)
        yield from (score, thr, det, share, ddrift, mscore, mdrift, qscore, qfail, perf, pfail, concept)

        sl = SUITE_LABELS + ["check", "column"]
        aqs = GaugeMetricFamily("custos_asset_quality_score", "Latest per-asset data-quality check score.", labels=sl)
        aqf = GaugeMetricFamily("custos_asset_quality_failed", "1 when the per-asset data-quality check failed.", labels=sl)
        for run_id, check, column, value, flagged in suite_results:
            lab = suite_labels.get(suite_latest[run_id])
            if lab is None or value is None:
                continue
            aqs.add_metric([*lab, check, column], value)
            aqf.add_metric([*lab, check, column], 1.0 if flagged else 0.0)
        yield aqs
        yield aqf
        suite_counts: dict[int, dict[str, int]] = defaultdict(dict)
        for suite, state, n in suite_alerts:
            suite_counts[suite][state] = n
        aqa = GaugeMetricFamily("custos_asset_quality_alerts", "Quality-suite alerts per state.", labels=SUITE_LABELS + ["state"])
        aql = GaugeMetricFamily(
            "custos_asset_quality_last_run_timestamp_seconds",
            "When the suite's latest successful run finished.",
            labels=SUITE_LABELS,
        )
        for pk, lab in suite_labels.items():
            for state in AlertState.values:
                aqa.add_metric([*lab, state], suite_counts.get(pk, {}).get(state, 0))
            if suite_finished.get(pk) is not None:
                aql.add_metric(list(lab), suite_finished[pk].timestamp())
        yield aqa
        yield aql

        counts: dict[tuple, dict[str, int]] = defaultdict(dict)
        for monitor, state, n in alerts:
            counts[monitor][state] = n
        al = GaugeMetricFamily("custos_alerts", "Alerts per state.", labels=MONITOR_LABELS + ["state"])
        last = GaugeMetricFamily(
            "custos_monitor_last_run_timestamp_seconds", "When the latest successful run finished.", labels=MONITOR_LABELS
        )
        for pk, mon in labels.items():
            for state in AlertState.values:
                al.add_metric([*mon, state], counts.get(pk, {}).get(state, 0))
            if finished.get(pk) is not None:
                last.add_metric(list(mon), finished[pk].timestamp())
        yield al
        yield last
        rs = GaugeMetricFamily("custos_monitor_runs", "Monitor runs per status.", labels=["status"])
        by_status = dict(runs)
        for status in RunStatus.values:
            rs.add_metric([status], by_status.get(status, 0))
        yield rs
        yield GaugeMetricFamily(
            "custos_metrics_database_seconds", "Time this scrape spent reading the database.", value=db_seconds
        )


class CeleryQueueCollector:
    """Queue lengths read from a Redis broker (Celery's default queue and the task queues configured)."""

    def collect(self):
        url = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
        if not url.startswith(("redis://", "rediss://")):
            return
        import redis

        queues = sorted({"celery", *(getattr(settings, "CELERY_TASK_QUEUES_NAMES", None) or [])})
        up = GaugeMetricFamily("custos_celery_broker_up", "1 when the Redis broker answered within 0.5 s.")
        length = GaugeMetricFamily("custos_celery_queue_length", "Tasks waiting on the broker's queue.", labels=["queue"])
        try:
            client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            for q in queues:
                length.add_metric([q], client.llen(q))
            up.add_metric([], 1.0)
        except redis.RedisError:
            up.add_metric([], 0.0)
            yield up
            return
        yield up
        yield length


def process_metrics() -> bytes:
    """This process's (or, with ``PROMETHEUS_MULTIPROC_DIR`` set, every worker process's) HTTP and
    database counters kept by django-prometheus, plus the process collectors of prometheus-client.

    Under gunicorn with several workers each process counts on its own; set
    ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable folder before the server starts so that one
    scrape sums every worker (prometheus-client's multiprocess mode; docs/monitoring.md).
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def exposition() -> bytes:
    """The whole scrape: monitor results and queues read now, then the HTTP and database counters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    registry.register(CeleryQueueCollector())
    return generate_latest(registry) + process_metrics()


def metrics_view(request):
    """GET /metrics (token or allow-list; 404 when neither is configured or the caller is not allowed)."""
    if request.method != "GET" or not configured() or not allowed(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)

"""gunicorn hooks for ``make serve`` (settings stay on the command line, docs/lineage.md "Serving").

With ``PROMETHEUS_MULTIPROC_DIR`` set (``make serve`` sets it), every worker writes its HTTP and
database counters to that folder and one scrape of ``GET /metrics`` sums them; a worker that exits
is marked dead so its live gauges stop counting (prometheus-client's multiprocess mode).
"""


def child_exit(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

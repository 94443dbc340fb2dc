"""A small Python client for logging production data to Custos from a model's serving code.

Standard library only (``urllib``): it imports neither Django nor the rest of Custos, so a serving
process can copy this one file or import it from an installed Custos. pandas is used only when a
DataFrame is passed::

    from monitoring.client import MonitoringClient

    custos = MonitoringClient("https://custos.example.org", token=os.environ["CUSTOS_TOKEN"])
    custos.log_predictions(12, [{"prediction_id": "p-1", "age": 41, "prediction": 1, "probability": 0.83}], run=True)
    custos.log_labels(12, [{"prediction_id": "p-1", "label": 0}])
    custos.log_file(12, "predictions-2026-12-07.parquet", run=True)
    open_alerts = custos.alerts(model_version=12, state="open")

Every call is one request (``alerts``/``runs`` follow the pages) to the REST API of docs/monitoring.md
with ``Authorization: Bearer <token>`` (a token of a user whose role may add logged batches, e.g.
``manage.py token_create serving --role service``). An error answer raises ``MonitoringClientError``
with the HTTP status and the API's error code and message; nothing is retried (a 429 carries
``retry_after``, the seconds the server asked to wait).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib import error, parse, request

API = "/api/v1/monitoring"


class MonitoringClientError(Exception):
    """An error answer from Custos (``status`` 0: no answer at all)."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def _plain(value: Any) -> Any:
    """A JSON value for one cell: NaN/NaT/None -> null, numpy and pandas scalars -> Python values."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    if hasattr(value, "isoformat") and not isinstance(value, str):  # datetime, date, pandas Timestamp
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def rows_of(rows: Iterable[Mapping[str, Any]] | Any) -> list[dict[str, Any]]:
    """The rows as JSON objects: a pandas DataFrame (``to_dict("records")``) or an iterable of mappings."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        records = rows.to_dict(orient="records")
    else:
        records = list(rows)
    out = []
    for i, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {i} is not a mapping of column names to values")
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


class MonitoringClient:
    def __init__(self, base_url: str, *, token: str, timeout: float = 30.0):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- logging ------------------------------------------------------------------------------------

    def log_predictions(self, model_version: int, rows, *, run: bool = False, id_column: str = "prediction_id") -> dict[str, Any]:
        """Log inputs with their prediction (and probability, and prediction id) as one batch; ``run``:
        check it at once (folded into the open chunk of each active monitor). Returns the logged batch."""
        return self._log(model_version, rows, kind="predictions", run=run, id_column=id_column)

    def log_labels(
        self, model_version: int, rows, *, id_column: str = "prediction_id", label_column: str = "label"
    ) -> dict[str, Any]:
        """Log late-arriving labels (prediction id + label), joined to the predictions by the id."""
        return self._log(model_version, rows, kind="labels", run=False, id_column=id_column, label_column=label_column)

    def log_file(
        self,
        model_version: int,
        path: str | Path,
        *,
        kind: str = "predictions",
        run: bool = False,
        id_column: str = "prediction_id",
        label_column: str = "label",
    ) -> dict[str, Any]:
        """Upload a CSV or Parquet file (by its suffix) as one batch."""
        path = Path(path)
        fields = {
            "model_version": str(model_version),
            "kind": kind,
            "run": "true" if run else "false",
            "id_column": id_column,
            "label_column": label_column,
        }
        boundary = uuid.uuid4().hex
        body = bytearray()
        for name, value in fields.items():
            body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        filename = path.name.replace('"', "_")
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body += path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        return self._request("POST", f"{API}/batches", bytes(body), f"multipart/form-data; boundary={boundary}")

    def _log(self, model_version: int, rows, **fields) -> dict[str, Any]:
        payload = {"model_version": model_version, "rows": rows_of(rows), **fields}
        return self._request("POST", f"{API}/batches", json.dumps(payload).encode(), "application/json")

    # --- reading back -------------------------------------------------------------------------------

    def run_monitor(self, monitor: int, batches: list[int] | None = None) -> dict[str, Any]:
        """Start a run of a monitor (over its new batches, or the named ones); returns the run."""
        body = {} if batches is None else {"batches": list(batches)}
        return self._request("POST", f"{API}/monitors/{int(monitor)}/run", json.dumps(body).encode(), "application/json")

    def run(self, run: int) -> dict[str, Any]:
        return self._request("GET", f"{API}/runs/{int(run)}")

    def alerts(self, **filters) -> list[dict[str, Any]]:
        """Alerts the token's user may see (filters: ``monitor``, ``model_version``, ``state``, ``kind``)."""
        return self._pages(f"{API}/alerts", filters)

    def runs(self, **filters) -> list[dict[str, Any]]:
        """Runs (filters: ``monitor``, ``model_version``, ``status``, ``dataset_drift``)."""
        return self._pages(f"{API}/runs", filters)

    def results(self, **filters) -> list[dict[str, Any]]:
        """Results (filters: ``run``, ``monitor``, ``kind``, ``name``, ``flagged``)."""
        return self._pages(f"{API}/results", filters)

    # --- HTTP ---------------------------------------------------------------------------------------

    def _pages(self, path: str, filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        query = {k: ("true" if v is True else "false" if v is False else v) for k, v in filters.items() if v is not None}
        url: str | None = f"{path}?{parse.urlencode({**query, 'page_size': 500})}"
        out: list[dict[str, Any]] = []
        while url:
            page = self._request("GET", url)
            out += page["results"]
            url = page.get("next")
        return out

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Any:
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if not url.startswith(("http://", "https://")):  # a "next" link is the server's own http(s) URL
            raise ValueError("only http(s) URLs are requested")
        req = request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) only, checked above
        try:
            with request.urlopen(req, timeout=self.timeout) as answer:  # noqa: S310 - http(s) only, checked above
                return json.loads(answer.read() or b"null")
        except error.HTTPError as exc:
            raw = exc.read()
            code, message = "error", (raw[:200].decode("utf-8", "replace") or exc.reason)
            try:
                doc = json.loads(raw)
                err = doc.get("error", doc) if isinstance(doc, dict) else {}
                code = str(err.get("code", code))
                message = str(err.get("message") or err.get("detail") or message)
            except (ValueError, AttributeError):
                pass
            retry = exc.headers.get("Retry-After") if exc.headers else None
            raise MonitoringClientError(exc.code, code, message, float(retry) if retry and retry.isdigit() else None) from None
        except error.URLError as exc:
            raise MonitoringClientError(0, "unreachable", f"Custos did not answer: {exc.reason}") from None

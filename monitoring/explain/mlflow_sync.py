"""Import an MLflow model registry into the catalog (issue 16): registered models, their versions,
stages, the versions' run params and metrics, and (optionally) each version's model file as a
``ModelArtifact`` under the safe-loading rules. Custos talks to the tracking server's REST API over
HTTP (``httpx``); the ``mlflow`` package is not a dependency.

Mapping (docs/explain.md "MLflow registry sync"):

* registered model ``name`` -> ``MLModel`` of the same name (created, or its description updated);
* model version ``v`` -> ``ModelVersion(version="v")`` with ``artifact_uri = "models:/name/v"``,
  ``stage`` from MLflow's stage (None -> development, Staging, Production, Archived -> retired),
  ``hyperparameters`` = the run's params (text, as MLflow stores them), ``metrics`` = the run's latest
  metric values, ``framework`` from the MLmodel file's flavour (``sklearn 1.9.1``, ``onnx ...``);
* a version already in the catalog with another ``artifact_uri`` is not touched (``conflicts``);
* the model file named by the flavour (sklearn ``pickled_model``, onnx ``data``) is downloaded
  (``/model-versions/get-artifact``) and stored through ``services.artifact_upload`` with
  ``source="mlflow"``: a skops file is checked against Custos's own trusted-types list (the MLmodel's
  ``skops_trusted_types`` is the file's claim and is ignored), a pickle/cloudpickle model is stored but
  refused at load until an admin marks it trusted, an artifact whose bytes are already stored is skipped.

Every catalog change goes through catalog.services (audited there, only when a field changed); each
sync is one ``explain.mlflow_sync`` audit event with the server (scheme://host:port only), the counts
and the catalog ids touched. Versions removed from MLflow are counted (``not_in_registry``), never
deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from audit import services as audit
from core.types import Actor

from .choices import ArtifactSource

STAGES = {"none": "development", "staging": "staging", "production": "production", "archived": "retired"}
PAGE = 200
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


class MlflowError(Exception):
    """The tracking server could not be read; the message names the endpoint, never credentials."""


@dataclass
class SyncReport:
    server: str
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "registered_models",
                "models_created",
                "models_updated",
                "versions_seen",
                "versions_created",
                "versions_updated",
                "versions_unchanged",
                "conflicts",
                "not_in_registry",
                "artifacts_stored",
                "artifacts_present",
                "artifacts_refused",
                "artifacts_absent",
            ),
            0,
        )
    )
    model_versions: list[int] = field(default_factory=list)
    artifacts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "server": self.server,
            "counts": dict(self.counts),
            "model_versions": list(self.model_versions),
            "artifacts": list(self.artifacts),
            "problems": list(self.problems),
        }


def server_label(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


class Client:
    """The few REST endpoints of an MLflow tracking server the sync reads."""

    def __init__(self, uri: str, *, token: str | None = None, timeout: float = 30.0):
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MlflowError("the tracking URI must be an http(s) URL of an MLflow tracking server")
        if parts.username or parts.password:
            raise MlflowError("put credentials in CUSTOS_MLFLOW_TOKEN, not in the tracking URI")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base = uri.rstrip("/")
        self.http = httpx.Client(timeout=timeout, headers=headers, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, params: dict) -> dict:
        try:
            response = self.http.get(f"{self.base}{path}", params=params)
        except httpx.HTTPError as exc:
            raise MlflowError(f"{path}: the tracking server cannot be reached ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise MlflowError(f"{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise MlflowError(f"{path}: the answer is not JSON") from exc

    def _pages(self, path: str, key: str, params: dict) -> list[dict]:
        out, token = [], None
        while True:
            page = self._get(path, {**params, "max_results": PAGE, **({"page_token": token} if token else {})})
            out += page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return out

    def registered_models(self) -> list[dict]:
        return self._pages("/api/2.0/mlflow/registered-models/search", "registered_models", {})

    def model_versions(self, name: str) -> list[dict]:
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        return self._pages("/api/2.0/mlflow/model-versions/search", "model_versions", {"filter": f"name='{quoted}'"})

    def run(self, run_id: str) -> dict:
        return self._get("/api/2.0/mlflow/runs/get", {"run_id": run_id}).get("run", {})

    def version_file(self, name: str, version: str, path: str) -> bytes | None:
        """A file of the model version's artifact directory (None when it has none by that path)."""
        params = {"name": name, "version": version, "path": path}
        try:
            with self.http.stream("GET", f"{self.base}/model-versions/get-artifact", params=params) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise MlflowError(f"/model-versions/get-artifact: HTTP {response.status_code}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise MlflowError(f"/model-versions/get-artifact: the file is larger than {MAX_DOWNLOAD_BYTES} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise MlflowError(
                f"/model-versions/get-artifact: the tracking server cannot be reached ({type(exc).__name__})"
            ) from exc


def _flavour(mlmodel: dict) -> tuple[str, str | None]:
    """(framework text, the model file's path inside the version's directory) from an MLmodel file."""
    flavours = mlmodel.get("flavors") or {}
    if "sklearn" in flavours:
        f = flavours["sklearn"] or {}
        return f"sklearn {f.get('sklearn_version', '')}".strip(), f.get("pickled_model")
    if "onnx" in flavours:
        f = flavours["onnx"] or {}
        return f"onnx {f.get('onnx_version', '')}".strip(), f.get("data")
    names = sorted(k for k in flavours if k != "python_function")
    return (names[0] if names else "mlflow"), None


def _version_data(client: Client, mv: dict) -> dict:
    run = client.run(mv["run_id"]) if mv.get("run_id") else {}
    data = run.get("data") or {}
    return {
        "stage": STAGES.get(str(mv.get("current_stage") or "None").lower(), "development"),
        "hyperparameters": {p["key"]: p.get("value") for p in data.get("params", [])},
        "metrics": {m["key"]: m.get("value") for m in data.get("metrics", [])},
    }


def mlflow_sync(
    *,
    actor: Actor,
    tracking_uri: str | None = None,
    models: list[str] | None = None,
    artifacts: bool = True,
    token: str | None = None,
) -> SyncReport:
    """Import the registry at ``tracking_uri`` (default ``settings.CUSTOS_MLFLOW_TRACKING_URI``); only
    the registered models named in ``models`` when given. See the module docstring."""
    from catalog import services as catalog
    from catalog.models import MLModel, ModelVersion

    from . import services
    from .models import ModelArtifact

    uri = tracking_uri or getattr(settings, "CUSTOS_MLFLOW_TRACKING_URI", "")
    if not uri:
        raise ValidationError("no MLflow tracking URI (give one, or set CUSTOS_MLFLOW_TRACKING_URI)")
    client = Client(uri, token=token if token is not None else getattr(settings, "CUSTOS_MLFLOW_TOKEN", None))
    report = SyncReport(server=server_label(uri))
    reason = f"MLflow registry sync from {report.server}"
    c = report.counts
    try:
        registered = client.registered_models()
        if models is not None:
            wanted = set(models)
            registered = [rm for rm in registered if rm.get("name") in wanted]
        for rm in registered:
            name = rm["name"]
            c["registered_models"] += 1
            description = rm.get("description") or ""
            model = MLModel.objects.filter(name=name).first()
            if model is None:
                model = catalog.model_create(actor=actor, name=name, description=description)
                c["models_created"] += 1
            elif description and model.description != description:
                catalog.model_update(model=model, actor=actor, description=description)
                c["models_updated"] += 1
            listed = set()
            for mv in client.model_versions(name):
                version, link = str(mv["version"]), f"models:/{name}/{mv['version']}"
                listed.add(version)
                c["versions_seen"] += 1
                data = _version_data(client, mv)
                mlmodel_bytes = client.version_file(name, version, "MLmodel")
                mlmodel = yaml.safe_load(mlmodel_bytes) if mlmodel_bytes else {}
                framework, model_file = _flavour(mlmodel if isinstance(mlmodel, dict) else {})
                data |= {"framework": framework[:100], "artifact_uri": link}
                existing = ModelVersion.objects.filter(model=model, version=version).first()
                if existing is None:
                    existing = catalog.model_version_register(actor=actor, model=model, version=version, **data)
                    c["versions_created"] += 1
                elif existing.artifact_uri not in ("", link):
                    c["conflicts"] += 1
                    report.problems.append(f"{name} version {version}: the catalog's version links elsewhere; not changed")
                    continue
                elif any(getattr(existing, k) != v for k, v in data.items()):
                    catalog.model_version_update(model_version=existing, actor=actor, reason=reason, **data)
                    c["versions_updated"] += 1
                else:
                    c["versions_unchanged"] += 1
                report.model_versions.append(existing.pk)
                if not artifacts:
                    continue
                payload = client.version_file(name, version, model_file) if model_file else None
                if payload is None:
                    c["artifacts_absent"] += 1
                    continue
                if ModelArtifact.objects.filter(model_version=existing, sha256=services.sha256_of(payload)).exists():
                    c["artifacts_present"] += 1
                    continue
                try:
                    artifact = services.artifact_upload(
                        actor=actor,
                        model_version=existing,
                        data=payload,
                        source=ArtifactSource.MLFLOW,
                        source_uri=f"{link}#{model_file}"[:500],
                    )
                except ValidationError as exc:
                    c["artifacts_refused"] += 1
                    report.problems.append(f"{name} version {version}: artifact refused: {'; '.join(exc.messages)}")
                    continue
                c["artifacts_stored"] += 1
                report.artifacts.append(artifact.pk)
            c["not_in_registry"] += (
                ModelVersion.objects.filter(model=model, artifact_uri__startswith=f"models:/{name}/")
                .exclude(version__in=listed)
                .count()
            )
    finally:
        client.close()
    with transaction.atomic():
        audit.record(
            actor=actor,
            action="explain.mlflow_sync",
            target_type="mlflow_registry",
            target_id=report.server,
            details={**report.counts, "model_versions": sorted(report.model_versions), "artifacts": sorted(report.artifacts)},
        )
    return report


__all__ = ["STAGES", "Client", "MlflowError", "SyncReport", "mlflow_sync", "server_label"]

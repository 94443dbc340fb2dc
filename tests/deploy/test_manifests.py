"""deploy/k8s (issue 17, cloud-native deployment): every object valid against the Kubernetes 1.37
schema (kubernetes-validate, strict: no unknown field), the restricted Pod Security Standard on
every pod, the wiring the docs promise (one beat, owner-role migrations, probes, secrets as files,
KEDA on the Celery queue), the ConfigMap passing ``check --deploy``, and checkov with no failed
check (in its own venv: deploy/tools/checkov.sh; skipped, saying so, when it is not installed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from secrets import token_urlsafe

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"
VAR_DIR = "/var/lib/custos"
SECRETS_DIR = "/run/secrets/custos"


def _documents() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


DOCS = _documents()
KUBERNETES_KINDS = [(f, d) for f, d in DOCS if not d["apiVersion"].startswith(("keda.sh/", "kustomize.config.k8s.io/"))]


def _one(kind: str, name: str) -> dict:
    found = [d for _f, d in DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


WORKLOADS = {
    "web": _one("Deployment", "custos-web"),
    "worker": _one("Deployment", "custos-worker"),
    "beat": _one("Deployment", "custos-beat"),
    "migrate": _one("Job", "custos-migrate"),
}


def _pod(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def _containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod["containers"]]


@pytest.mark.parametrize(
    ("filename", "doc"), KUBERNETES_KINDS, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in KUBERNETES_KINDS]
)
def test_every_object_is_valid_against_the_kubernetes_schema(filename, doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_does_refuse_a_wrong_manifest():
    broken = json.loads(json.dumps(WORKLOADS["beat"]))
    broken["spec"]["replicas"] = "one"
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_file_but_the_migrations_job():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "migrate-job.yaml"}
    assert set(kustomization["resources"]) == files
    assert all(d["metadata"].get("namespace") == "custos" for f, d in DOCS if d["kind"] not in {"Namespace", "Kustomization"})


def test_the_namespace_enforces_the_restricted_profile():
    labels = _one("Namespace", "custos")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}


@pytest.mark.parametrize("name", WORKLOADS)
def test_every_pod_meets_the_restricted_pod_security_standard(name):
    """The rules of the "restricted" profile (kubernetes.io/docs/concepts/security/pod-security-standards),
    plus what this deployment adds: read-only root, a writable var emptyDir, no API token."""
    pod = _pod(WORKLOADS[name])
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for volume in pod["volumes"]:
        assert set(volume) - {"name"} <= ALLOWED_VOLUMES, volume
    var = next(v for v in pod["volumes"] if v["name"] == "var")
    assert "emptyDir" in var
    for container in _containers(pod):
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc.get("privileged", False) is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["runAsNonRoot"] is True and sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert sc["readOnlyRootFilesystem"] is True
        assert not any(port.get("hostPort") for port in container.get("ports", []))
        assert {"name": "var", "mountPath": VAR_DIR} in container["volumeMounts"]
        assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
        assert re.fullmatch(r"[\w./-]+@sha256:[0-9a-f]{64}", container["image"]), "images are pinned by digest"


def test_there_is_exactly_one_beat_and_it_never_overlaps_itself():
    beats = [
        d for _f, d in DOCS if "beat" in json.dumps(d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []))
    ]
    assert beats == [WORKLOADS["beat"]]
    assert WORKLOADS["beat"]["spec"]["replicas"] == 1
    assert WORKLOADS["beat"]["spec"]["strategy"] == {"type": "Recreate"}
    assert not any(
        d["kind"] in {"ScaledObject", "HorizontalPodAutoscaler"} and d["spec"]["scaleTargetRef"]["name"] == "custos-beat"
        for _f, d in DOCS
    )


def test_web_probes_use_the_health_endpoints():
    web = _pod(WORKLOADS["web"])["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    service = _one("Service", "custos-web")
    assert service["spec"]["selector"].items() <= WORKLOADS["web"]["spec"]["template"]["metadata"]["labels"].items()


def test_only_the_migrations_job_has_the_owner_role_and_it_grants_the_app_role():
    for name, workload in WORKLOADS.items():
        secrets = {v["secret"]["secretName"] for v in _pod(workload)["volumes"] if "secret" in v}
        assert ("custos-db-owner" in secrets) == (name == "migrate"), name
        assert "custos-app" in secrets
    job = _pod(WORKLOADS["migrate"])["containers"][0]
    script = " ".join(job["command"])
    assert "manage.py migrate" in script and 'db_grant_app_role "$CUSTOS_APP_DB_ROLE"' in script
    assert {"name": "DATABASE_URL_FILE", "value": "/run/secrets/custos-owner/database-url"} in job["env"]
    assert {"name": "owner", "mountPath": "/run/secrets/custos-owner", "readOnly": True} in job["volumeMounts"]
    from django.core.management import get_commands

    assert "db_grant_app_role" in get_commands()


def test_secrets_are_files_never_environment_values():
    config = _one("ConfigMap", "custos-config")["data"]
    for _f, doc in DOCS:
        assert "secretKeyRef" not in json.dumps(doc)
    for key, value in config.items():
        if key.endswith("_FILE"):
            assert value.startswith(SECRETS_DIR + "/"), key
    for workload in WORKLOADS.values():
        for container in _pod(workload)["containers"]:
            assert {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True} in container["volumeMounts"]


def test_workers_scale_with_keda_on_the_celery_queue():
    from config.celery import app

    scaled = _one("ScaledObject", "custos-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == WORKLOADS["worker"]["metadata"]["name"]
    assert scaled["spec"]["minReplicaCount"] >= 1
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == app.conf.task_default_queue == "celery"
    auth = _one("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} == {"custos-app"}


def _selected(policy: dict, labels: dict) -> bool:
    return policy["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()


def test_network_policies_deny_by_default_and_open_only_what_is_needed():
    policies = [d for _f, d in DOCS if d["kind"] == "NetworkPolicy"]
    deny = _one("NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, workload in WORKLOADS.items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        ingress = [p for p in policies if "ingress" in p["spec"] and _selected(p, labels)]
        egress_ports = {
            port["port"]
            for p in policies
            if _selected(p, labels)
            for rule in p["spec"].get("egress", [])
            for port in rule["ports"]
        }
        assert egress_ports == {53, 5432, 6379}, name
        assert bool(ingress) == (name == "web"), name


def test_commands_name_what_the_image_has():
    web = _pod(WORKLOADS["web"])["containers"][0]["command"]
    assert (
        web[:4] == ["gunicorn", "config.wsgi:application", "-c", "config/gunicorn.py"] and (ROOT / "config/gunicorn.py").exists()
    )
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert f"CUSTOS_VAR_DIR={VAR_DIR}" in dockerfile and "USER 10001:10001" in dockerfile
    assert _one("ConfigMap", "custos-config")["data"]["CUSTOS_VAR_DIR"] == VAR_DIR
    for name in ("worker", "beat"):
        assert _pod(WORKLOADS[name])["containers"][0]["command"][:3] == ["celery", "-A", "config"]


def test_the_configmap_passes_check_deploy(tmp_path):
    """The production settings the ConfigMap gives, with the secret files it names (written here),
    pass ``manage.py check --deploy --fail-level WARNING``."""
    config = _one("ConfigMap", "custos-config")["data"]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTOS_", "DATABASE_", "CELERY_", "SECRET_"))}
    for key, value in config.items():
        env[key] = value.replace(SECRETS_DIR, str(secrets)).replace(VAR_DIR, str(tmp_path / "var"))
    values = {
        "secret-key": token_urlsafe(64),
        "database-url": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "broker-url": "redis://127.0.0.1:6379/13",
        "metrics-token": token_urlsafe(32),
    }
    for name, value in values.items():
        (secrets / name).write_text(value)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


CHECKOV = ROOT / "deploy/tools/checkov.sh"


def test_checkov_finds_nothing_in_the_manifests_and_the_dockerfile():
    done = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(ROOT / "deploy"),
            "--framework",
            "kubernetes",
            "dockerfile",
            "secrets",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode == 3 and "not installed" in done.stderr:
        pytest.skip(f"checkov is not installed ({done.stderr.strip()})")
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{r['check_type']}: {c['check_id']} {c['check_name']} {c['file_path']} {c['resource']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 50, done.stdout[:2000]
    assert not failed, "\n".join(failed)

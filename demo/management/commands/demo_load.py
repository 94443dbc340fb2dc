"""``manage.py demo_load``: register the demo catalog (fixtures/demo_catalog.json) in the configured database.

Every write goes through the accounts and catalog services, so each one is audited. The load is
idempotent: objects that exist (matched by their natural key) are left as they are, missing ones
are created, so a second run writes nothing. Demo users get known passwords only in the local
profiles; with ``CUSTOS_ENV=production`` they are created without a usable password.

File assets point at working copies under ``var/demo-data/`` (see ``demo.data``), never at the
git-tracked files in ``fixtures/data/``; the copies are made first when missing.

After the catalog (one transaction), two optional integrations run when their apps are present:
the demo jobs' OpenLineage events go through the lineage intake (deterministic run ids and
times, so a second load is recognised as duplicates), and the PII scanner scans each asset's data
file once, in-process. Then the demo steward reviews of some machine-made suggestions apply.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import user_ensure
from catalog import services
from catalog.choices import ClassificationSource
from catalog.models import Classification, DataAsset, DataSource, Domain, GlossaryTerm, MLModel, ModelVersion, Tag
from demo.data import demo_data_prepare, demo_location

FIXTURES = Path(settings.BASE_DIR) / "fixtures"
CATALOG_FILE = FIXTURES / "demo_catalog.json"
MODELS_FILE = FIXTURES / "demo_models.json"
ACTOR = "demo_load"  # system actor for the bootstrap writes (users, vocabularies)
PRIVACY_FIELDS = (
    "processing_purposes",
    "legal_basis",
    "data_subject_categories",
    "recipients",
    "international_transfers",
    "retention_days",
    "storage_country",
)


def load_spec(path: Path = CATALOG_FILE, models_path: Path = MODELS_FILE) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads(path.read_text()), json.loads(models_path.read_text())


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, password or "")
    integrations: list[str] = field(default_factory=list)

    def count(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def summary(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.created.items() if n)


class DemoLoader:
    """Registers the demo catalog; ``run()`` returns what it created."""

    def __init__(
        self, spec: dict[str, Any], models: dict[str, Any], *, known_passwords: bool, scan: bool = True, scan_sample: int = 0
    ) -> None:
        self.spec, self.models, self.known_passwords = spec, models, known_passwords
        self.scan, self.scan_sample = scan, scan_sample
        self.report = LoadReport()
        self.users: dict[str, User] = {}
        self.domains: dict[str, Domain] = {}
        self.tags: dict[str, Tag] = {}
        self.terms: dict[str, GlossaryTerm] = {}
        self.sources: dict[str, DataSource] = {}
        self.assets: dict[tuple[str, str], DataAsset] = {}

    def run(self) -> LoadReport:
        with transaction.atomic():  # all or nothing: a failed load leaves no half-built catalog
            self._users()
            self._vocabularies()
            self._sources()
            for asset_spec in self.spec["assets"]:
                self._asset(asset_spec)
            for model_spec in self.spec["models"]:
                self._model(model_spec)
        # Optional integrations with later apps, each in its own transactions and guarded: the
        # catalog above is complete without them.
        self._lineage()
        if self.scan:
            self._pii_scan()
        self._reviews()
        return self.report

    def _reviews(self) -> None:
        """A steward's decisions on machine-made suggestions (scan, propagation) the demo expects.
        Each applies once: a decided suggestion, or one this build did not make, is skipped."""
        reviewed = 0
        for review in self.spec.get("reviews", []):
            asset = self.assets[tuple(review["asset"])]
            suggestion = Classification.objects.filter(
                column__asset=asset,
                column__name=review["column"],
                entity_type=review["entity_type"],
                source=review.get("source", ClassificationSource.SCAN),
                decided_at__isnull=True,
            ).first()
            if suggestion is None:
                continue
            decide = services.classification_confirm if review["decision"] == "confirm" else services.classification_reject
            decide(classification=suggestion, actor=self.users[review.get("by", "steward")], reason=review["reason"])
            reviewed += 1
        self.report.count("reviews", reviewed)

    # --- people and vocabularies ---------------------------------------------------------------

    def _users(self) -> None:
        for spec in self.spec["users"]:
            existed = User.objects.filter(username=spec["username"]).exists()
            password = spec["password"] if self.known_passwords else None
            user = user_ensure(username=spec["username"], role=spec["role"], actor=ACTOR, email=spec["email"], password=password)
            self.users[user.username] = user
            if not existed:
                self.report.count("users")
            # Only show a password that still works (a user may have changed it since); hashing is slow, so
            # users created just now are not re-checked.
            usable = self.known_passwords and (not existed or user.check_password(spec["password"]))
            self.report.logins.append((user.username, user.role, spec["password"] if usable else ""))

    def _vocabularies(self) -> None:
        admin = self.users["admin"]
        for spec in self.spec["domains"]:
            domain = Domain.objects.filter(name=spec["name"]).first()
            if domain is None:
                domain = services.domain_create(
                    actor=admin, name=spec["name"], description=spec["description"], owner=self.users[spec["owner"]]
                )
                self.report.count("domains")
            self.domains[domain.name] = domain
        for spec in self.spec["tags"]:
            tag = Tag.objects.filter(name=spec["name"]).first()
            if tag is None:
                tag = services.tag_create(actor=admin, name=spec["name"], description=spec["description"])
                self.report.count("tags")
            self.tags[tag.name] = tag
        for spec in self.spec["glossary_terms"]:
            term = GlossaryTerm.objects.filter(name=spec["name"]).first()
            if term is None:
                domain = self.domains[spec["domain"]] if spec.get("domain") else None
                term = services.glossary_term_create(
                    actor=admin, name=spec["name"], description=spec["description"], domain=domain
                )
                self.report.count("glossary_terms")
            self.terms[term.name] = term

    def _sources(self) -> None:
        admin = self.users["admin"]
        for spec in self.spec["sources"]:
            source = DataSource.objects.filter(namespace=spec["namespace"]).first()
            if source is None:
                fields = {k: spec[k] for k in ("description", "connection", "location", "country") if k in spec}
                source = services.source_create(
                    actor=admin,
                    name=spec["name"],
                    kind=spec["kind"],
                    namespace=spec["namespace"],
                    owner=self.users[spec["owner"]],
                    **fields,
                )
                self.report.count("sources")
            self.sources[spec["key"]] = source

    # --- assets, columns, classifications --------------------------------------------------------

    def _asset(self, spec: dict[str, Any]) -> None:
        source = self.sources[spec["source"]]
        owner = self.users[spec["owners"][0]]
        data: dict[str, Any] = {
            "kind": spec["kind"],
            "description": spec.get("description", ""),
            "sensitivity": spec.get("sensitivity", "internal"),
            "domain": self.domains.get(spec.get("domain", "")),
            "location": demo_location(spec.get("location", "")),
            "owners": [self.users[u] for u in spec.get("owners", [])],
            "stewards": [self.users[u] for u in spec.get("stewards", [])],
            "tags": [self.tags[t] for t in spec.get("tags", [])],
            "glossary_terms": [self.terms[t] for t in spec.get("glossary_terms", [])],
        }
        if spec.get("name"):
            data["name"] = spec["name"]
        data.update({k: v for k, v in spec.get("privacy", {}).items() if k in PRIVACY_FIELDS})
        asset, created = services.asset_ensure(
            source=source, qualified_name=spec["qualified_name"], actor=owner, reason="demo catalog", **data
        )
        if created:
            self.report.count("assets")
        self.assets[(spec["source"], spec["qualified_name"])] = asset

        before = set(asset.columns.values_list("name", flat=True))
        columns = services.columns_sync(
            asset=asset,
            columns=[
                {"name": c["name"], "data_type": c.get("data_type", ""), "description": c.get("description", ""), "position": i}
                for i, c in enumerate(spec["columns"])
            ],
            actor=owner,
        )
        for column_spec in spec["columns"]:
            if column_spec["name"] in before:
                continue  # an existing column is the steward's now: never overwrite it
            self.report.count("columns")
            extra: dict[str, Any] = {}
            if column_spec.get("nullable") is False:
                extra["nullable"] = False
            if column_spec.get("tags"):
                extra["tags"] = [self.tags[t] for t in column_spec["tags"]]
            if column_spec.get("glossary_terms"):
                extra["glossary_terms"] = [self.terms[t] for t in column_spec["glossary_terms"]]
            if extra:
                services.column_update(column=columns[column_spec["name"]], actor=owner, **extra)

        steward = self.users[spec["stewards"][0]] if spec.get("stewards") else self.users["steward"]
        for c in spec.get("classifications", []):
            column = columns[c["column"]]
            if Classification.objects.filter(
                column=column, entity_type=c["entity_type"], source=ClassificationSource.STEWARD
            ).exists():
                continue
            services.classification_assign(
                column=column,
                entity_type=c["entity_type"],
                actor=steward,
                sensitivity=c["sensitivity"],
                reason=c.get("reason", ""),
            )
            self.report.count("classifications")
        for s in spec.get("suggestions", []):
            column = columns[s["column"]]
            if Classification.objects.filter(column=column, entity_type=s["entity_type"], source=s["source"]).exists():
                continue
            suggestion = services.classification_suggest(
                column=column,
                entity_type=s["entity_type"],
                source=s["source"],
                actor=ACTOR,
                confidence=s["confidence"],
                sensitivity=s["sensitivity"],
                evidence=s.get("evidence"),
            )
            self.report.count("classifications")
            if s.get("reject"):
                services.classification_reject(classification=suggestion, actor=steward, reason=s["reject"])

    # --- models ---------------------------------------------------------------------------------

    def _model(self, spec: dict[str, Any]) -> None:
        owner = self.users[spec["owner"]]
        trained = self.models["models"][spec["name"]]
        model = MLModel.objects.filter(name=spec["name"]).first()
        if model is None:
            model = services.model_create(
                actor=owner,
                name=spec["name"],
                description=spec["description"],
                owner=owner,
                domain=self.domains[spec["domain"]],
                task=spec.get("task") or trained["task"],
                tags=[self.tags[t] for t in spec.get("tags", [])],
            )
            self.report.count("models")
        training = [self.assets[tuple(key)] for key in spec["training_datasets"]]
        evaluation = [self.assets[tuple(key)] for key in spec["evaluation_datasets"]]
        feature_asset = self.assets[tuple(spec["feature_source"])]
        for version_spec in trained["versions"]:
            card = spec["versions"][version_spec["version"]]
            if ModelVersion.objects.filter(model=model, version=version_spec["version"]).exists():
                continue
            features = list(feature_asset.columns.filter(name__in=version_spec["features"]).order_by("position"))
            missing = set(version_spec["features"]) - {c.name for c in features}
            if missing:
                raise CommandError(f"{spec['name']} {version_spec['version']}: feature columns missing: {sorted(missing)}")
            services.model_version_register(
                actor=owner,
                model=model,
                version=version_spec["version"],
                stage=version_spec["stage"],
                framework=version_spec["framework"],
                algorithm=version_spec["algorithm"],
                hyperparameters=version_spec["hyperparameters"],
                metrics=version_spec["metrics"],
                training_datasets=training,
                evaluation_datasets=evaluation,
                features=features,
                **{
                    k: card.get(k, "")
                    for k in ("intended_use", "limitations", "ethical_considerations", "dpia_reference", "artifact_uri")
                },
            )
            self.report.count("model_versions")

    # --- lineage (OpenLineage events through the lineage app's intake, when it exists) ------------

    def _lineage(self) -> None:
        spec = self.spec.get("lineage")
        if not spec:
            return
        try:
            from lineage.openlineage import event_ingest, reset_caches
        except ImportError:
            self.report.integrations.append("lineage: skipped (the lineage app has no OpenLineage intake in this build)")
            return
        reset_caches()  # its per-process id cache may predate this database (tests, a re-created DB)
        actor = self.users.get("service") or ACTOR
        applied = duplicates = 0
        for job in spec["jobs"]:
            namespaces = {source["key"]: source["namespace"] for source in self.spec["sources"]}
            for payload in lineage_events(job, namespaces, producer=spec["producer"]):
                result = event_ingest(payload=payload, actor=actor)
                if result["status"] == "applied":
                    applied += 1
                else:
                    duplicates += 1
        self.report.count("lineage_events", applied)
        self.report.integrations.append(
            f"lineage: {applied} OpenLineage events applied, {duplicates} already known ({len(spec['jobs'])} demo jobs)"
        )

    # --- PII scan (the compliance.scanning services, when they exist) ----------------------------

    def _pii_scan(self) -> None:
        """Scan each demo asset's data file once, in-process; findings become scan suggestions.
        Assets with a successful scan are skipped."""
        try:
            from compliance.scanning.models import ScanRun
            from compliance.scanning.services import scan_execute, scan_start
        except ImportError:
            self.report.integrations.append("PII scan: skipped (the scanning app is not in this build)")
            return
        spec = self.spec.get("scan", {})
        steward = self.users["steward"]
        scanned, failed = 0, []
        for (_source_key, qualified_name), asset in self.assets.items():
            if not asset.location or ScanRun.objects.filter(asset=asset, status="succeeded").exists():
                continue
            run = scan_start(
                actor=steward,
                asset=asset,
                location=asset.location,
                sample_size=self.scan_sample or spec.get("sample_size", 500),
                seed=spec.get("seed", 0),
                dispatch=False,
            )
            run = scan_execute(run_id=run.pk, fan_out=False)  # in-process: the demo needs no worker
            if run.status == "succeeded":
                scanned += 1
            else:
                failed.append(f"{qualified_name} ({run.status}: {run.error})")
        self.report.count("scans", scanned)
        suggestions = Classification.objects.filter(
            column__asset__in=self.assets.values(), source=ClassificationSource.SCAN
        ).count()
        line = f"PII scan: {scanned} assets scanned, {suggestions} scan classifications in the catalog"
        if failed:
            line += f"; failed: {', '.join(failed)}"
        self.report.integrations.append(line)


OL_RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
OL_FACET_SCHEMAS = {
    "documentation": "https://openlineage.io/spec/facets/1-0-1/DocumentationJobFacet.json#/$defs/DocumentationJobFacet",
    "sql": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
    "jobType": "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
    "columnLineage": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
    "custosModel": "https://custos.example/spec/facets/1-0-0/CustosModelDatasetFacet.json#/$defs/CustosModelDatasetFacet",
}


def lineage_events(job: dict[str, Any], namespaces: dict[str, str], *, producer: str) -> list[dict[str, Any]]:
    """The START and COMPLETE RunEvents of one demo job, deterministic (fixed run id and times),
    so the intake recognises them as duplicates on a second load."""

    def facet(name: str, **fields: Any) -> dict[str, Any]:
        return {"_producer": producer, "_schemaURL": OL_FACET_SCHEMAS[name], **fields}

    def dataset(key: str, name: str, **facets: Any) -> dict[str, Any]:
        return {"namespace": namespaces[key], "name": name, "facets": facets}

    def input_field(key: str, name: str, field_name: str, kind: str, subtype: str, masking: bool) -> dict[str, Any]:
        return {
            "namespace": namespaces[key],
            "name": name,
            "field": field_name,
            "transformations": [{"type": kind, "subtype": subtype, "description": "", "masking": masking}],
        }

    columns = dict(job.get("columns", {}))
    if job.get("identity"):
        (key, name), fields = job["identity"]
        columns |= {f: [[key, name, f, "DIRECT", "IDENTITY", False]] for f in fields}
    outputs = []
    for key, name in job.get("outputs", []):
        facets = {}
        if columns:
            lineage = {out: {"inputFields": [input_field(*item) for item in items]} for out, items in columns.items()}
            facets["columnLineage"] = facet("columnLineage", fields=lineage)
        outputs.append(dataset(key, name, **facets))
    for model, version in job.get("models", []):
        outputs.append(
            {
                "namespace": namespaces["features"],
                "name": f"models/{model}/{version}",
                "facets": {"custosModel": facet("custosModel", model=model, version=version)},
            }
        )
    job_facets = {
        "documentation": facet("documentation", description=job["description"]),
        "jobType": facet("jobType", processingType="BATCH", integration="CUSTOS_DEMO", jobType="JOB"),
    }
    if job.get("sql"):
        job_facets["sql"] = facet("sql", query=job["sql"])
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"custos-demo:{job['namespace']}/{job['name']}"))
    inputs = [dataset(key, name) for key, name in job.get("inputs", [])]
    table_outputs = [dataset(key, name) for key, name in job.get("outputs", [])]
    common = {"producer": producer, "schemaURL": OL_RUN_SCHEMA, "run": {"runId": run_id, "facets": {}}}
    job_ref = {"namespace": job["namespace"], "name": job["name"]}
    return [
        common
        | {
            "eventType": "START",
            "eventTime": job["started"],
            "job": job_ref | {"facets": job_facets},
            "inputs": inputs,
            "outputs": table_outputs,
        },
        common
        | {
            "eventType": "COMPLETE",
            "eventTime": job["ended"],
            "job": job_ref | {"facets": job_facets},
            "inputs": inputs,
            "outputs": outputs,
        },
    ]


def demo_load(*, known_passwords: bool | None = None, scan: bool = True, scan_sample: int = 0) -> LoadReport:
    """Load the demo catalog; ``known_passwords`` defaults to "not in production"; ``scan`` runs the
    PII scanner on the demo files (when the scanning app is present), sampling ``scan_sample`` rows
    per column (0: the catalog file's ``scan.sample_size``)."""
    if known_passwords is None:
        known_passwords = settings.CUSTOS_ENV != "production"
    elif known_passwords and settings.CUSTOS_ENV == "production":
        raise CommandError("refusing to create users with known demo passwords when CUSTOS_ENV=production")
    spec, models = load_spec()
    demo_data_prepare()  # the assets point at these copies, never at fixtures/
    return DemoLoader(spec, models, known_passwords=known_passwords, scan=scan, scan_sample=scan_sample).run()


def format_logins(report: LoadReport) -> list[str]:
    lines = ["Demo logins (username / password, role):"]
    for username, role, password in report.logins:
        lines.append(f"  {username:<15} {password or '(no usable password)':<22} {role}")
    return lines


class Command(BaseCommand):
    help = "Load the demo catalog (fixtures/demo_catalog.json) through the audited services; safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--no-logins", action="store_true", help="Do not print the demo logins.")
        parser.add_argument("--no-scan", action="store_true", help="Do not run the PII scanner on the demo files.")
        parser.add_argument("--scan-sample", type=int, default=0, help="Rows sampled per column by the scan (default 500).")

    def handle(self, *args, **options):
        report = demo_load(scan=not options["no_scan"], scan_sample=options["scan_sample"])
        if report.total:
            self.stdout.write(self.style.SUCCESS(f"Demo catalog loaded: created {report.summary()}."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo catalog already loaded: nothing to do."))
        for line in report.integrations:
            self.stdout.write(line)
        if settings.CUSTOS_ENV == "production":
            self.stdout.write(self.style.WARNING("CUSTOS_ENV=production: demo users were created without usable passwords."))
        elif not options["no_logins"]:
            for line in format_logins(report):
                self.stdout.write(line)

"""``manage.py demo_load``: register the demo catalog (fixtures/demo_catalog.json) in the configured database.

Every write goes through the accounts and catalog services, so each one is audited. The load is
idempotent: objects that exist (matched by their natural key) are left as they are, missing ones
are created, so a second run writes nothing. Demo users get known passwords only in the local
profiles; with ``CUSTOS_ENV=production`` they are created without a usable password.
"""

from __future__ import annotations

import json
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


class DemoLoader:
    """Registers the demo catalog; ``run()`` returns what it created."""

    def __init__(self, spec: dict[str, Any], models: dict[str, Any], *, known_passwords: bool) -> None:
        self.spec, self.models, self.known_passwords = spec, models, known_passwords
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
        return self.report

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
            "location": spec.get("location", ""),
            "owners": [self.users[u] for u in spec.get("owners", [])],
            "stewards": [self.users[u] for u in spec.get("stewards", [])],
            "tags": [self.tags[t] for t in spec.get("tags", [])],
            "glossary_terms": [self.terms[t] for t in spec.get("glossary_terms", [])],
        }
        if spec.get("name"):
            data["name"] = spec["name"]
        data.update({k: v for k, v in spec.get("privacy", {}).items() if k in PRIVACY_FIELDS})
        asset, created = services.asset_ensure(source=source, qualified_name=spec["qualified_name"], actor=owner, **data)
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


def demo_load(*, known_passwords: bool | None = None) -> LoadReport:
    """Load the demo catalog; ``known_passwords`` defaults to "not in production"."""
    if known_passwords is None:
        known_passwords = settings.CUSTOS_ENV != "production"
    elif known_passwords and settings.CUSTOS_ENV == "production":
        raise CommandError("refusing to create users with known demo passwords when CUSTOS_ENV=production")
    spec, models = load_spec()
    return DemoLoader(spec, models, known_passwords=known_passwords).run()


def format_logins(report: LoadReport) -> list[str]:
    lines = ["Demo logins (username / password, role):"]
    for username, role, password in report.logins:
        lines.append(f"  {username:<15} {password or '(no usable password)':<22} {role}")
    return lines


class Command(BaseCommand):
    help = "Load the demo catalog (fixtures/demo_catalog.json) through the audited services; safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--no-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, **options):
        report = demo_load()
        if report.total:
            summary = ", ".join(f"{n} {kind}" for kind, n in report.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo catalog loaded: created {summary}."))
        else:
            self.stdout.write(self.style.SUCCESS("Demo catalog already loaded: nothing to do."))
        for line in report.integrations:
            self.stdout.write(line)
        if settings.CUSTOS_ENV == "production":
            self.stdout.write(self.style.WARNING("CUSTOS_ENV=production: demo users were created without usable passwords."))
        elif not options["no_logins"]:
            for line in format_logins(report):
                self.stdout.write(line)

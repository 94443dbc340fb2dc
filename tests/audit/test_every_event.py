"""Every write path that exists leaves an audit event: each service of catalog and accounts,
each catalog API write, admin add/change/delete, the management commands, logins and token use.
New services or endpoints fail this test until they are listed here (with the event they leave),
and no audited model is written in bulk (``update()``, ``bulk_create``, ``bulk_update``)."""

from __future__ import annotations

import ast
import inspect
import itertools
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from accounts import services as account_services
from accounts.choices import Role
from audit.models import AuditEvent
from catalog import bulk as catalog_bulk
from catalog import services as cs
from catalog.api.urls import router
from tests.factories import (
    AssetFactory,
    ClassificationFactory,
    ColumnFactory,
    DomainFactory,
    MLModelFactory,
    ModelVersionFactory,
    SourceFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parents[2]
AUDITED_APPS = ["catalog", "accounts"]
SYSTEM = "tests"


def _service_calls():
    """service name -> (call, expected action). Calls build their own fixtures."""
    g = lambda: __import__("catalog.models").models.GlossaryTerm.objects.create(name="Term")  # noqa: E731
    scan_cls = lambda: ClassificationFactory(source="scan", state="suggested")  # noqa: E731
    return {
        "domain_create": (lambda: cs.domain_create(actor=SYSTEM, name="D"), "catalog.domain.create"),
        "domain_update": (
            lambda: cs.domain_update(domain=DomainFactory(), actor=SYSTEM, description="x"),
            "catalog.domain.update",
        ),
        "domain_delete": (lambda: cs.domain_delete(domain=DomainFactory(), actor=SYSTEM), "catalog.domain.delete"),
        "tag_create": (lambda: cs.tag_create(actor=SYSTEM, name="t"), "catalog.tag.create"),
        "tag_update": (lambda: cs.tag_update(tag=TagFactory(), actor=SYSTEM, description="x"), "catalog.tag.update"),
        "tag_delete": (lambda: cs.tag_delete(tag=TagFactory(), actor=SYSTEM), "catalog.tag.delete"),
        "tag_ensure": (lambda: cs.tag_ensure(name="new-tag", actor=SYSTEM), "catalog.tag.create"),
        "glossary_term_create": (lambda: cs.glossary_term_create(actor=SYSTEM, name="G"), "catalog.glossary_term.create"),
        "glossary_term_update": (
            lambda: cs.glossary_term_update(term=g(), actor=SYSTEM, description="x"),
            "catalog.glossary_term.update",
        ),
        "glossary_term_delete": (lambda: cs.glossary_term_delete(term=g(), actor=SYSTEM), "catalog.glossary_term.delete"),
        "source_create": (
            lambda: cs.source_create(actor=SYSTEM, name="s", kind="postgresql", namespace="pg://x"),
            "catalog.source.create",
        ),
        "source_update": (
            lambda: cs.source_update(source=SourceFactory(), actor=SYSTEM, description="x"),
            "catalog.source.update",
        ),
        "source_delete": (lambda: cs.source_delete(source=SourceFactory(), actor=SYSTEM), "catalog.source.delete"),
        "source_ensure": (lambda: cs.source_ensure(namespace="pg://new", actor=SYSTEM), "catalog.source.create"),
        "asset_register": (
            lambda: cs.asset_register(actor=SYSTEM, source=SourceFactory(), qualified_name="a.b"),
            "catalog.asset.register",
        ),
        "asset_ensure": (
            lambda: cs.asset_ensure(source=SourceFactory(), qualified_name="a.c", actor=SYSTEM),
            "catalog.asset.register",
        ),
        "asset_update": (lambda: cs.asset_update(asset=AssetFactory(), actor=SYSTEM, description="x"), "catalog.asset.update"),
        "asset_delete": (lambda: cs.asset_delete(asset=AssetFactory(), actor=SYSTEM), "catalog.asset.delete"),
        "asset_set_owners": (
            lambda: cs.asset_set_owners(asset=AssetFactory(), owners=[UserFactory()], actor=SYSTEM),
            "catalog.asset.set_owners",
        ),
        "asset_raise_sensitivity": (
            lambda: cs.asset_raise_sensitivity(asset=AssetFactory(), sensitivity="restricted", actor=SYSTEM),
            "catalog.asset.update",
        ),
        "column_create": (lambda: cs.column_create(actor=SYSTEM, asset=AssetFactory(), name="c"), "catalog.column.create"),
        "column_update": (
            lambda: cs.column_update(column=ColumnFactory(), actor=SYSTEM, description="x"),
            "catalog.column.update",
        ),
        "column_delete": (lambda: cs.column_delete(column=ColumnFactory(), actor=SYSTEM), "catalog.column.delete"),
        "columns_sync": (
            lambda: cs.columns_sync(asset=AssetFactory(), columns=[{"name": "n"}], actor=SYSTEM),
            "catalog.column.create",
        ),
        "classification_suggest": (
            lambda: cs.classification_suggest(column=ColumnFactory(), entity_type="PERSON", source="scan", actor=SYSTEM),
            "catalog.classification.suggest",
        ),
        "classification_assign": (
            lambda: cs.classification_assign(column=ColumnFactory(), entity_type="PERSON", actor=SYSTEM),
            "catalog.classification.confirm",
        ),
        "classification_confirm": (
            lambda: cs.classification_confirm(classification=scan_cls(), actor=SYSTEM),
            "catalog.classification.confirm",
        ),
        "classification_reject": (
            lambda: cs.classification_reject(classification=scan_cls(), actor=SYSTEM),
            "catalog.classification.reject",
        ),
        "classification_set_sensitivity": (
            lambda: cs.classification_set_sensitivity(classification=scan_cls(), sensitivity="restricted", actor=SYSTEM),
            "catalog.classification.update",
        ),
        "classification_withdraw": (
            lambda: cs.classification_withdraw(classification=scan_cls(), actor=SYSTEM),
            "catalog.classification.withdraw",
        ),
        "model_create": (lambda: cs.model_create(actor=SYSTEM, name="m"), "catalog.model.create"),
        "model_update": (lambda: cs.model_update(model=MLModelFactory(), actor=SYSTEM, description="x"), "catalog.model.update"),
        "model_delete": (lambda: cs.model_delete(model=MLModelFactory(), actor=SYSTEM), "catalog.model.delete"),
        "model_version_register": (
            lambda: cs.model_version_register(actor=SYSTEM, model=MLModelFactory(), version="2"),
            "catalog.model_version.register",
        ),
        "model_version_update": (
            lambda: cs.model_version_update(model_version=ModelVersionFactory(), actor=SYSTEM, stage="staging"),
            "catalog.model_version.update",
        ),
        "model_version_delete": (
            lambda: cs.model_version_delete(model_version=ModelVersionFactory(), actor=SYSTEM),
            "catalog.model_version.delete",
        ),
        "user_ensure": (
            lambda: account_services.user_ensure(username="new", role=Role.VIEWER, actor=SYSTEM),
            "accounts.user.create",
        ),
        "user_set_role": (
            lambda: account_services.user_set_role(user=UserFactory(), role=Role.STEWARD, actor=SYSTEM),
            "accounts.user.set_role",
        ),
        "token_create": (lambda: account_services.token_create(user=UserFactory(), actor=SYSTEM), "accounts.token.create"),
        "token_revoke": (
            lambda: account_services.token_revoke(
                token=account_services.token_create(user=UserFactory(), actor=SYSTEM)[0], actor=SYSTEM
            ),
            "accounts.token.revoke",
        ),
        "classifications_suggest_bulk": (
            lambda: catalog_bulk.classifications_suggest_bulk(
                source="propagated",
                suggestions=[catalog_bulk.Suggestion(column_id=ColumnFactory().pk, entity_type="EMAIL_ADDRESS")],
                actor=SYSTEM,
            ),
            "catalog.classification.suggest",
        ),
        "token_authenticate": (
            lambda: account_services.token_authenticate(raw=account_services.token_create(user=UserFactory(), actor=SYSTEM)[1]),
            "accounts.token.use",
        ),
    }


READ_ONLY_HELPERS = {"token_digest"}  # public functions in services modules that write nothing


def _public_functions(module):
    return {
        name
        for name, obj in inspect.getmembers(module, inspect.isfunction)
        if obj.__module__ == module.__name__ and not name.startswith("_")
    } - READ_ONLY_HELPERS


def test_every_service_is_listed_here():
    services = _public_functions(cs) | _public_functions(catalog_bulk) | _public_functions(account_services)
    assert services == set(_service_calls())


@pytest.mark.parametrize("name", sorted(_service_calls()))
def test_every_service_leaves_its_event(name):
    call, action = _service_calls()[name]
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    call()
    assert AuditEvent.objects.filter(id__gt=before, action=action).exists(), name


_names = itertools.count()
API_WRITES = {
    # basename -> (factory, create payload, patch payload, action prefix)
    "domain": (DomainFactory, lambda: {"name": "Clinical"}, {"description": "d"}, "catalog.domain."),
    "tag": (TagFactory, lambda: {"name": "pii"}, {"description": "d"}, "catalog.tag."),
    "glossary-term": (
        lambda: __import__("catalog.models").models.GlossaryTerm.objects.create(name=f"Patient {next(_names)}"),
        lambda: {"name": "Encounter"},
        {"description": "d"},
        "catalog.glossary_term.",
    ),
    "source": (
        SourceFactory,
        lambda: {"name": "crm", "kind": "postgresql", "namespace": "postgres://crm:5432"},
        {"description": "d"},
        "catalog.source.",
    ),
    "asset": (
        AssetFactory,
        lambda: {"source": SourceFactory().pk, "qualified_name": "s.t"},
        {"description": "d"},
        "catalog.asset.",
    ),
    "column": (ColumnFactory, lambda: {"asset": AssetFactory().pk, "name": "email"}, {"description": "d"}, "catalog.column."),
    "mlmodel": (MLModelFactory, lambda: {"name": "churn"}, {"description": "d"}, "catalog.model."),
    "model-version": (
        ModelVersionFactory,
        lambda: {"model": MLModelFactory().pk, "version": "9.9"},
        {"stage": "staging"},
        "catalog.model_version.",
    ),
}


def _new_actions(before):
    return list(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True))


def _last_id():
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_every_catalog_endpoint_is_covered():
    assert {basename for _, _, basename in router.registry} == set(API_WRITES) | {"classification"}


@pytest.mark.parametrize("basename", sorted(API_WRITES))
def test_every_api_write_leaves_an_event(api_as, basename):
    factory, create_payload, patch_payload, prefix = API_WRITES[basename]
    client = api_as(Role.ADMIN)
    for method, url, payload in (
        ("post", reverse(f"{basename}-list"), create_payload()),
        ("patch", reverse(f"{basename}-detail", args=[factory().pk]), patch_payload),
        ("delete", reverse(f"{basename}-detail", args=[factory().pk]), None),
    ):
        before = _last_id()
        response = getattr(client, method)(url, payload, format="json")
        assert response.status_code in (200, 201, 204), (method, response.content)
        actions = _new_actions(before)
        assert actions and all(a.startswith("catalog.") for a in actions), (method, actions)
        assert any(a.startswith(prefix) for a in actions)


def test_classification_api_writes_leave_events(api_as):
    client = api_as(Role.STEWARD)
    before = _last_id()
    assert (
        client.post(
            reverse("classification-list"), {"column": ColumnFactory().pk, "entity_type": "PERSON"}, format="json"
        ).status_code
        == 201
    )
    for step in ("confirm", "reject"):
        cls = ClassificationFactory(source="scan")
        assert client.post(reverse(f"classification-{step}", args=[cls.pk]), {"reason": "r"}, format="json").status_code == 200
    actions = _new_actions(before)
    assert {"catalog.classification.confirm", "catalog.classification.reject"} <= set(actions)


def test_admin_add_change_delete_and_actions_leave_events(client):
    user = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    client.force_login(user)
    before = _last_id()
    assert client.post(reverse("admin:catalog_domain_add"), {"name": "Finance"}).status_code == 302
    domain = DomainFactory()
    assert client.post(reverse("admin:catalog_domain_change", args=[domain.pk]), {"name": "Renamed"}).status_code == 302
    assert (
        client.post(
            reverse("admin:catalog_domain_delete", args=[DomainFactory().pk]), {"post": "yes", "reason": "merged"}
        ).status_code
        == 302
    )
    asset = AssetFactory()
    response = client.post(
        reverse("admin:catalog_dataasset_changelist"),
        {"action": "set_sensitivity", "_selected_action": [asset.pk], "sensitivity": "restricted", "apply": "1", "reason": "PHI"},
    )
    assert response.status_code in (200, 302)
    actions = _new_actions(before)
    assert {"catalog.domain.create", "catalog.domain.update", "catalog.domain.delete"} <= set(actions)


def test_every_audited_admin_routes_writes_through_services():
    """Each catalog/accounts ModelAdmin either is read-only or overrides the write hooks."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "catalog" or model._meta.model_name.startswith("historical"):
            continue
        request = _FakeRequest()
        hooks = []
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            hooks.append("save_model")
        if model_admin.has_delete_permission(request):
            hooks += ["delete_model", "delete_queryset"]
        for hook in hooks:
            assert getattr(type(model_admin), hook) is not getattr(admin.ModelAdmin, hook), (model, hook)


class _FakeRequest:
    class user:  # noqa: N801 - a stand-in for request.user in has_*_permission
        is_active = is_staff = is_superuser = True

        @staticmethod
        def has_perm(*args, **kwargs):
            return True


def test_commands_leave_events(ledger_key, tmp_path):
    before = _last_id()
    call_command("token_create", "robot", "--role", Role.SERVICE, stdout=StringIO())
    call_command("audit_export", "--out", str(tmp_path / "x.jsonl"), stdout=StringIO(), stderr=StringIO())
    actions = _new_actions(before)
    assert {"accounts.user.create", "accounts.token.create", "audit.ledger.export"} <= set(actions)


def test_demo_load_audits_every_object_it_creates():
    call_command("demo_load", stdout=StringIO(), stderr=StringIO())
    audited = set(AuditEvent.objects.values_list("target_type", "target_id"))
    for model in [*apps.get_app_config("catalog").get_models(), apps.get_model("accounts", "User")]:
        if model._meta.model_name.startswith("historical") or model._meta.auto_created:
            continue
        missing = [pk for pk in model.objects.values_list("pk", flat=True) if (model._meta.label_lower, str(pk)) not in audited]
        assert missing == [], model._meta.label


def test_login_and_token_use_are_events(client, api):
    user = UserFactory(role=Role.VIEWER)
    before = _last_id()
    assert client.login(username=user.username, password="pw-for-tests-only")
    assert not client.login(username=user.username, password="wrong")
    _, raw = account_services.token_create(user=user, actor=SYSTEM)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(reverse("me")).status_code == 200
    actions = _new_actions(before)
    assert {"accounts.login", "accounts.login_failed", "accounts.token.use"} <= set(actions)


BULK_HELPERS = {"bulk_create_with_history", "bulk_update_with_history"}  # django-simple-history's
# Modules allowed to write audited models in bulk because they record one event per row written
# (audit.services.record_many, in the same transaction); the test below holds them to that.
BULK_AUDITED_MODULES = {"catalog/bulk.py"}


def _bulk_writes(path: Path):
    """(line, method) of ``.update(``/``bulk_create(``/``bulk_update(`` calls on querysets/managers
    and of simple-history's bulk helpers."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in BULK_HELPERS:
            yield node.lineno, node.func.id
        elif isinstance(node.func, ast.Attribute):
            name = node.func.attr
            receiver = ast.unparse(node.func.value)
            if name in {"bulk_create", "bulk_update"} | BULK_HELPERS or (
                name == "update" and ("objects" in receiver or "filter(" in receiver)
            ):
                yield node.lineno, name


def test_no_audited_model_is_written_in_bulk():
    found = []
    for app in AUDITED_APPS:
        for path in (REPO / app).rglob("*.py"):
            relative = str(path.relative_to(REPO))
            if "migrations" in path.parts or relative in BULK_AUDITED_MODULES:
                continue
            found += [(relative, line, name) for line, name in _bulk_writes(path)]
    assert found == []


@pytest.mark.parametrize("relative", sorted(BULK_AUDITED_MODULES))
def test_bulk_writers_record_an_event_per_row(relative):
    """The allowed bulk writers write in bulk (else they need no exemption) and audit through
    record_many; the per-row count itself is tested with the module (tests/catalog/test_bulk.py)."""
    source = (REPO / relative).read_text()
    assert list(_bulk_writes(REPO / relative)), f"{relative} writes nothing in bulk: drop its exemption"
    assert "record_many(" in source


# Every Custos app's services, found on disk (services.py or a services/ package), so a new
# package (compliance/datasets, compliance/anonymization, core, monitoring ...) is noticed here.
SERVICE_MODULES_COVERED_ABOVE = {"catalog.services", "accounts.services", "catalog.bulk"}
CUSTOS_APPS = ["core", "audit", "accounts", "catalog", "lineage", "compliance", "monitoring", "demo"]


def _service_modules() -> set[str]:
    found = set()
    for app in CUSTOS_APPS:
        for path in (REPO / app).rglob("services*"):
            if "__pycache__" in path.parts or "migrations" in path.parts:
                continue
            if path.name == "services.py":
                found.add(".".join(path.relative_to(REPO).with_suffix("").parts))
            elif path.is_dir() and (path / "__init__.py").exists():
                found.add(".".join(path.relative_to(REPO).parts))
    return found


def test_it_enumerates_the_service_modules_of_every_app():
    modules = _service_modules()
    # the apps whose services exist today; a missing one means the walk is broken
    for expected in ("accounts.services", "audit.services", "catalog.services", "lineage.services"):
        assert expected in modules, (expected, sorted(modules))

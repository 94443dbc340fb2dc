"""Readable JSON in the admin (issue 18, Admin) and every admin page of every app still renders:
an editable JSON field is an indented textarea that refuses invalid JSON; a machine-written one, or
one on a page the user may only view, is indented read-only text and not a form field."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.services import token_create
from compliance.policies.models import RegulationRule
from compliance.scanning import services as scanning
from lineage.models import LineageEvent
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(users, settings, tmp_path, django_capture_on_commit_callbacks):
    from tests.lineage import scenario

    settings.CUSTOS_DATA_ROOTS = [tmp_path]
    settings.CUSTOS_SCAN_ROOTS = [tmp_path]
    scenario.build(users["service"], django_capture_on_commit_callbacks)
    ClassificationFactory(evidence={"scanner": "presidio", "hits": 3})
    ModelVersionFactory()
    scanning.scan_start(actor=users["steward"], asset=AssetFactory(location=str(tmp_path / "x.csv")), dispatch=False)
    token_create(user=users["service"], actor=users["admin"], name="etl")
    return users


def test_every_admin_page_of_every_app_renders_for_an_admin(client, estate):
    client.force_login(estate["admin"])
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        changelist = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert changelist.status_code == 200, (model._meta.label, changelist.status_code)
        obj = model_admin.get_queryset(changelist.wsgi_request).first()
        if obj is not None:
            page = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert page.status_code == 200, (model._meta.label, "change", page.status_code)
        if model_admin.has_add_permission(changelist.wsgi_request):
            assert client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 200, (model._meta.label, "add")


def test_an_editable_json_field_is_an_indented_textarea_that_refuses_invalid_json(client, users):
    client.force_login(users["admin"])
    rule = RegulationRule.objects.exclude(params={}).first()
    url = reverse("admin:policies_regulationrule_change", args=[rule.pk])

    page = client.get(url)

    html = str(page.context["adminform"].form["params"])
    assert 'class="custos-json"' in html and "{\n  &quot;" in html  # indented, two spaces
    response = client.post(url, {"severity": rule.severity, "enabled": "on", "params": "{not json", "override_reason": "x"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["params"] == ["Enter a valid JSON."]
    assert RegulationRule.objects.get(pk=rule.pk).params == rule.params
    assert "{not json" in str(response.context["adminform"].form["params"])  # kept as typed, to fix


def test_a_read_only_json_field_is_indented_text_not_a_form_field(client, users, django_capture_on_commit_callbacks):
    from tests.lineage import scenario

    scenario.build(users["service"], django_capture_on_commit_callbacks)
    client.force_login(users["steward"])
    event = LineageEvent.objects.first()

    page = client.get(reverse("admin:lineage_lineageevent_change", args=[event.pk]))

    html = page.content.decode()
    assert page.status_code == 200 and '<pre class="custos-json">{\n  &quot;' in html
    assert 'name="payload"' not in html


def test_machine_written_former_names_are_shown_but_not_editable_by_a_steward(client, users):
    column = ColumnFactory(former_names=["note_text", "notes"])
    client.force_login(users["steward"])
    url = reverse("admin:catalog_column_change", args=[column.pk])

    html = client.get(url).content.decode()

    assert '<pre class="custos-json">[\n  &quot;note_text&quot;,\n  &quot;notes&quot;\n]</pre>' in html
    assert 'name="former_names"' not in html


def test_scan_evidence_is_read_only_on_the_classification_page(client, users):
    classification = ClassificationFactory(evidence={"hits": 3, "sampled": 50})
    client.force_login(users["steward"])
    html = client.get(reverse("admin:catalog_classification_change", args=[classification.pk])).content.decode()
    assert '<pre class="custos-json">{\n  &quot;hits&quot;: 3,\n  &quot;sampled&quot;: 50\n}</pre>' in html
    assert 'name="evidence"' not in html


def test_the_site_is_branded_custos_administration(client, users):
    client.force_login(users["steward"])
    index = client.get(reverse("admin:index")).content.decode()
    assert "<title>Custos administration</title>" in index
    assert '<div id="site-name"><a href="/admin/">Custos administration</a></div>' in index
    changelist = client.get(reverse("admin:catalog_dataasset_changelist")).content.decode()
    assert "<title>Select data asset to change | Custos administration</title>" in changelist
    assert "admin-custos/admin.css" in changelist and "admin-custos/admin.js" in changelist

"""Steward pages render the lineage as an SVG graph, scoped like the API."""

import pytest
from django.urls import reverse

from catalog import services as catalog
from catalog.choices import Sensitivity
from tests.lineage import scenario


@pytest.fixture
def wh(make_user, django_capture_on_commit_callbacks):
    return scenario.build(make_user("service"), django_capture_on_commit_callbacks)


def test_the_asset_page_draws_the_lineage_graph(wh, client, steward):
    client.force_login(steward)
    page = client.get(reverse("lineage:asset", args=[wh.staging.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert (
        "<svg" in html
        and html.count('<g class="node') == 9  # depth 3 each way: raw, load | features, export, mart, export.copy, train, churn@1
    )  # raw, load, staging, features, export (depth 3 reaches mart, churn)
    assert "staging.customers" in html and 'class="node asset root"' in html


def test_the_column_level_page_marks_masking_edges(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("lineage:asset", args=[wh.mart.pk]) + "?level=column").content.decode()
    assert 'class="edge stop kind-derives"' in html


def test_the_model_version_page_shows_provenance_runs_and_people(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("lineage:model_version", args=[wh.model_version.pk])).content.decode()
    assert "<svg" in html and "raw.customers" in html and "<h2>Runs</h2>" in html and "ran jobs" in html


def test_the_catalog_asset_page_links_to_the_graph(wh, client, steward):
    client.force_login(steward)
    html = client.get(reverse("catalog:asset", args=[wh.raw.pk])).content.decode()
    assert reverse("lineage:asset", args=[wh.raw.pk]) in html


def test_a_viewer_gets_404_for_a_restricted_asset_and_never_sees_it_in_a_graph(wh, client, steward, make_user):
    catalog.asset_update(asset=wh.staging, actor=steward, sensitivity=Sensitivity.RESTRICTED)
    client.force_login(make_user("viewer"))
    assert client.get(reverse("lineage:asset", args=[wh.staging.pk])).status_code == 404
    html = client.get(reverse("lineage:asset", args=[wh.raw.pk])).content.decode()
    assert "staging.customers" not in html


def test_anonymous_users_are_sent_to_login(wh, client):
    assert client.get(reverse("lineage:asset", args=[wh.raw.pk])).status_code == 302

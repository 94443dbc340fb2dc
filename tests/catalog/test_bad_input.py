"""Clean 4xx for bad input on catalog endpoints (issue 17, item 2): each case was a 500 before."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from catalog.models import DataSource
from tests.factories import AssetFactory, ModelVersionFactory, SourceFactory

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"  # beyond SQLite's 64-bit INTEGER: OverflowError before


def test_deleting_a_source_that_still_has_assets_is_a_400_in_the_error_shape(api_as):
    source = SourceFactory(name="crm-prod-secret-name")
    AssetFactory(source=source)
    response = api_as(Role.ADMIN).delete(reverse("source-detail", args=[source.pk]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert error["message"] == "cannot delete this data source: still referenced by data assets"
    assert "crm-prod-secret-name" not in response.content.decode()
    assert DataSource.objects.filter(pk=source.pk).exists()


def test_a_source_without_assets_is_deleted(api_as):
    source = SourceFactory()
    assert api_as(Role.ADMIN).delete(reverse("source-detail", args=[source.pk])).status_code == 204


@pytest.mark.parametrize(
    ("url", "param"),
    [("column-list", "asset"), ("classification-list", "asset"), ("model-version-list", "trained_on")],
)
@pytest.mark.parametrize("value", [HUGE, "-1", "²", "1e3"])
def test_an_id_filter_outside_the_id_range_is_a_400_naming_the_parameter(api_as, url, param, value):
    response = api_as(Role.VIEWER).get(reverse(url), {param: value})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == [param]
    assert value not in error["message"]


@pytest.mark.parametrize("param", ["source", "owner", "steward", "domain", "tag", "glossary_term"])
@pytest.mark.parametrize("url", ["asset-list", "search"])
def test_an_id_or_name_filter_with_a_huge_number_or_odd_digits_matches_nothing(api_as, url, param):
    AssetFactory()
    for value in (HUGE, "²"):
        response = api_as(Role.VIEWER).get(reverse(url), {param: value})
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["count"] if url == "asset-list" else body["totals"]["asset"]) == 0


def test_the_largest_id_is_accepted(api_as):
    ModelVersionFactory()
    response = api_as(Role.VIEWER).get(reverse("model-version-list"), {"trained_on": str(2**63 - 1)})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_an_unknown_search_type_is_a_400_that_does_not_echo_it(api_as):
    response = api_as(Role.VIEWER).get(reverse("search"), {"q": "x", "type": "asset,963-38-2983"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["type"]
    assert "963-38-2983" not in response.content.decode()
    assert error["message"].startswith("type: Not one of the allowed values: asset, column")


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("asset-list", "sensitivity"),
        ("asset-list", "status"),
        ("asset-list", "kind"),
        ("search", "sensitivity"),
        ("classification-list", "state"),
        ("model-version-list", "stage"),
    ],
)
def test_a_value_outside_a_choice_filter_is_a_400_that_does_not_echo_it(api_as, url, param):
    response = api_as(Role.VIEWER).get(reverse(url), {param: "963-38-2983"})
    assert response.status_code == 400
    assert "963-38-2983" not in response.content.decode()
    assert response.json()["error"]["fields"] == {param: ["Not one of the allowed values."]}


@pytest.mark.parametrize(
    ("url", "param"), [("classification-list", "sensitivity"), ("classification-list", "source"), ("mlmodel-list", "task")]
)
def test_a_value_outside_a_generated_choice_filter_is_not_echoed_either(api_as, url, param):
    response = api_as(Role.VIEWER).get(reverse(url), {param: "963-38-2983"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {param: ["Not one of the allowed values."]}

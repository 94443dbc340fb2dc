"""Clean 4xx for bad export requests (issue 17, item 2)."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from compliance.evidence.models import EvidenceExport

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("asset_id", [99999999999999999999999, 2**63])
def test_an_asset_id_beyond_the_id_range_is_a_400_naming_the_field(
    api_as, ledger_key, asset_id, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(Role.AUDITOR).post(reverse("evidence-export-list"), {"asset_ids": [asset_id]}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400 and list(error["fields"]) == ["asset_ids"]
    assert str(asset_id) not in response.content.decode()
    assert not EvidenceExport.objects.exists()


def test_the_largest_id_reaches_the_unknown_asset_check(api_as, ledger_key):
    response = api_as(Role.AUDITOR).post(reverse("evidence-export-list"), {"asset_ids": [2**63 - 1]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "asset_ids: unknown asset id(s)"

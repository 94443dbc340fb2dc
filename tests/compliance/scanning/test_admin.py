"""The ScanRun admin: read-only pages, and a cancel action that goes through the audited service."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from compliance.scanning import services
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_the_scan_admin_lists_runs_and_cancels_through_the_service(client, make_user, data_root):
    admin_user = make_user("admin", username="ada")
    client.force_login(admin_user)
    run = services.scan_start(actor=admin_user, asset=AssetFactory(location=str(data_root / "x.csv")), dispatch=False)
    assert client.get(reverse("admin:scanning_scanrun_changelist"), {"q": "x.csv"}).status_code == 200
    assert client.get(reverse("admin:scanning_scanrun_change", args=[run.pk])).status_code == 200
    assert client.get(reverse("admin:scanning_scanrun_add")).status_code == 403
    response = client.post(
        reverse("admin:scanning_scanrun_changelist"),
        {"action": "cancel_scans", "_selected_action": [run.pk], "apply": "1", "reason": "wrong file"},
        follow=True,
    )
    assert response.status_code == 200
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert AuditEvent.objects.filter(
        action="scanning.scan.cancel", target_id=str(run.pk), actor_name="ada", reason="wrong file"
    ).exists()


def test_the_scan_list_endpoint_runs_a_constant_number_of_queries(api_as, users, django_assert_max_num_queries, data_root):
    for _ in range(5):
        services.scan_start(actor=users["steward"], asset=AssetFactory(location=str(data_root / "x.csv")), dispatch=False)
    client = api_as("steward")
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/scans")
    assert response.status_code == 200 and response.data["count"] == 5

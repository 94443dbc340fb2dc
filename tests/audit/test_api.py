"""Ledger API: auditor and admin only; checkpoint and key as text/plain; proofs that verify."""

from __future__ import annotations

import base64

import pytest
from django.urls import reverse

from accounts.choices import Role
from audit import verify_core as vc
from audit.services import checkpoint_create
from tests.audit.conftest import add_events

pytestmark = pytest.mark.django_db

ROLES = [None, *Role.values]
AUDITORS = {Role.ADMIN, Role.AUDITOR}
URLS = [
    "/api/v1/audit/events",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/public-key",
    "/api/v1/audit/proofs/inclusion?seq=0&tree_size=1",
    "/api/v1/audit/proofs/consistency?first=1&second=1",
]


@pytest.mark.parametrize("role", ROLES)
def test_only_auditors_and_admins_read_the_ledger(api_as, role, ledger_key):
    add_events(1)
    checkpoint_create()
    client = api_as(role)
    for url in URLS:
        response = client.get(url)
        expected = 401 if role is None else (200 if role in AUDITORS else 403)
        assert response.status_code == expected, url
        if expected != 200:
            assert set(response.json()) == {"error"}


def test_it_serves_the_latest_checkpoint_and_the_public_key_as_text(api_as, ledger_key):
    add_events(5)
    checkpoint = checkpoint_create()
    client = api_as(Role.AUDITOR)
    response = client.get("/api/v1/audit/checkpoint")
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == checkpoint.note
    vkey = client.get("/api/v1/audit/public-key").content.decode().strip()
    assert vc.parse_vkey(vkey) == ledger_key.verifier
    vc.open_checkpoint(response.content.decode(), [vc.parse_vkey(vkey)])


def test_served_proofs_verify_against_the_signed_checkpoint(api_as, ledger_key):
    add_events(37)
    old = checkpoint_create()
    add_events(12)
    new = checkpoint_create()
    client = api_as(Role.AUDITOR)
    verifier = vc.parse_vkey(client.get("/api/v1/audit/public-key").content.decode())
    signed, _ = vc.open_checkpoint(client.get("/api/v1/audit/checkpoint").content.decode(), [verifier])
    assert signed.size == new.tree_size == 49
    proof = client.get("/api/v1/audit/proofs/inclusion", {"seq": 30}).json()  # tree_size defaults to the checkpoint
    assert proof["tree_size"] == 49 and base64.b64decode(proof["root_hash"]) == signed.root
    assert vc.verify_inclusion(
        30, 49, base64.b64decode(proof["leaf_hash"]), [base64.b64decode(p) for p in proof["proof"]], signed.root
    )
    event = client.get("/api/v1/audit/events", {"seq_from": 30, "seq_to": 30}).json()["results"][0]
    assert vc.leaf_hash(base64.b64decode(event["body"])) == base64.b64decode(proof["leaf_hash"])
    consistency = client.get("/api/v1/audit/proofs/consistency", {"first": old.tree_size}).json()
    assert vc.verify_consistency(37, 49, [base64.b64decode(p) for p in consistency["proof"]], bytes(old.root_hash), signed.root)


def test_it_rejects_bad_proof_requests_in_the_error_envelope(api_as, ledger_key):
    add_events(3)
    client = api_as(Role.ADMIN)
    for params in ({"seq": 5, "tree_size": 3}, {"seq": "x", "tree_size": 3}, {"seq": 0}, {"seq": 0, "tree_size": 9}):
        response = client.get("/api/v1/audit/proofs/inclusion", params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/audit/proofs/consistency", {"first": 0, "second": 3}).status_code == 400
    assert client.get("/api/v1/audit/checkpoint").status_code == 404


def test_events_can_be_filtered(api_as, ledger_key):
    add_events(3, action="catalog.asset.register")
    add_events(2, action="accounts.login", sequence=False)
    client = api_as(Role.AUDITOR)
    url = reverse("audit-event-list")
    assert client.get(url, {"action": "catalog.asset.register"}).json()["count"] == 3
    assert client.get(url, {"action_prefix": "accounts."}).json()["count"] == 2
    pending = client.get(url, {"pending": "true"}).json()
    assert pending["count"] == 2 and all(e["seq"] is None for e in pending["results"])
    assert client.get(url, {"target_id": "1"}).json()["count"] == 2


def test_the_event_list_runs_a_fixed_number_of_queries(api_as, ledger_key, django_assert_max_num_queries):
    add_events(60)
    client = api_as(Role.AUDITOR)
    with django_assert_max_num_queries(6):
        assert client.get("/api/v1/audit/events").status_code == 200

"""Role x endpoint x action matrix: every API route (walked from the URLconf) and every admin
action of every registered ModelAdmin, for anonymous and each role.

The expected outcome comes from the tables declared *here* (EXPECTED_ROLE_ACTIONS, API_ACTIONS,
ADMIN_ACTIONS), written from docs/api.md's role matrix -- not from accounts.permissions, so a
change to the code under test cannot make its own test agree. An endpoint or admin action that
is not declared fails, so new routes must be given a row. Runs on whatever database the test
run uses (SQLite by default; DATABASE_URL=postgres://... for PostgreSQL).

A cell checks the permission layer: a denied role gets 403 (anonymous 401/403) for the API, and
does not see the action in the admin (Django hides actions whose ``permissions=`` fail) or cannot
enter the admin at all; an allowed role gets neither (the request may still fail validation
with 400/404 on the empty database -- that is not a permission answer).
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory
from rest_framework.test import APIClient

from tests.core.urlconf import api_endpoints

pytestmark = pytest.mark.django_db

ROLES = ["admin", "steward", "auditor", "service", "viewer"]

# the role matrix as documented (docs/api.md "Roles"), declared independently of the code
EXPECTED_ROLE_ACTIONS = {
    "admin": {"view", "view_restricted", "add", "change", "delete", "audit", "export", "decide", "administer"},
    "steward": {"view", "view_restricted", "add", "change", "delete", "decide"},
    "auditor": {"view", "view_restricted", "audit", "export"},
    "service": {"view", "add", "change"},
    "viewer": {"view"},
}
for _actions in EXPECTED_ROLE_ACTIONS.values():
    _actions.add("authenticated")
STAFF_ROLES = {"admin", "steward", "auditor"}  # who may enter /admin at all

METHOD_DEFAULT = {"get": "view", "post": "add", "put": "change", "patch": "change", "delete": "delete"}

# (path regex, method) -> required action, where it differs from METHOD_DEFAULT; "*" = any method.
# "authenticated" = any signed-in role.
API_ACTIONS: list[tuple[str, str, str]] = [
    (r"^/api/v1$", "*", "view"),
    (r"^/api/v1/me$", "*", "view"),
    (r"^/api/v1/audit/", "*", "audit"),
    (r"^/api/v1/evidence/exports", "*", "export"),
    (r"^/api/v1/classifications/1/(confirm|reject)$", "post", "decide"),
    (r"^/api/v1/access-grants/1/(approve|reject|revoke)$", "post", "decide"),
    (r"^/api/v1/legal-holds", "post", "decide"),
    (r"^/api/v1/regulation-rules/1/override$", "post", "decide"),
    (r"^/api/v1/regulation-packs$", "post", "decide"),
    (r"^/api/v1/lineage/edges/1/propagation$", "post", "decide"),
    # docs/policies.md "Access decisions": anyone signed in asks for themselves; deciding for
    # others is checked on the object (steward, auditor, admin, service as enforcement point)
    (r"^/api/v1/access/decide$", "post", "authenticated"),
    # docs/policies.md "Grants": a request for yourself; approving it is the decision
    (r"^/api/v1/access-grants$", "post", "authenticated"),
    # docs/api.md: POST classifications assigns a *confirmed steward* classification
    (r"^/api/v1/classifications$", "post", "decide"),
    # docs/policies.md: policies and anonymization runs are steward decisions
    (r"^/api/v1/policies", "post", "decide"),
    (r"^/api/v1/policies/1$", "put", "decide"),
    (r"^/api/v1/policies/1$", "patch", "decide"),
    (r"^/api/v1/anonymization-runs$", "post", "decide"),
    (r"^/api/v1/tokens/reveal$", "post", "decide"),
    (r"^/api/v1/lineage(/batch)?$", "post", "add"),
    (r"^/api/v1/scans/1/cancel$", "post", "change"),
    (r"^/api/v1/retention-runs$", "post", "decide"),
]

# admin model label -> action name -> required role-matrix action
ADMIN_ACTIONS: dict[str, dict[str, str]] = {
    "accounts.ApiToken": {"revoke": "administer"},
    "catalog.DataAsset": {"assign_owner": "decide", "set_sensitivity": "decide", "delete_assets": "delete"},
    "catalog.Classification": {"confirm": "decide", "reject": "decide"},
    "lineage.Edge": {"block_propagation": "decide", "allow_propagation": "decide", "reset_propagation": "decide"},
    "scanning.ScanRun": {"cancel_scans": "change"},
    "policies.RegulationPack": {"enable": "decide", "disable": "decide"},
    "policies.LegalHold": {"release": "decide"},
    "policies.AccessGrant": {"approve": "decide", "reject": "decide", "revoke": "decide"},
    "evidence.EvidenceExport": {},
    # docs/monitoring.md "Per-asset quality suites" and docs/explain.md "Safe loading"
    "monitoring.QualitySuite": {"run_now": "add"},
    "monitoring.QualityAlert": {"acknowledge": "change", "resolve": "change"},
    "explain.ModelArtifact": {"mark_trusted": "administer"},
}


def expected_api_action(path: str, method: str) -> str:
    for pattern, declared_method, action in API_ACTIONS:
        if re.search(pattern, path) and declared_method in {"*", method}:
            return action
    return METHOD_DEFAULT[method]


def _cells():
    for endpoint in api_endpoints():
        methods = sorted(endpoint.actions) or _plain_methods(endpoint.view)
        for method in methods:
            if method in {"head", "options"}:
                continue
            for role in ["anonymous", *ROLES]:
                yield pytest.param(endpoint.path, method, role, id=f"{method.upper()} {endpoint.path} {role}")


def _plain_methods(view) -> list[str]:
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


@pytest.fixture
def client_for(make_user):
    def build(role):
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(make_user(role))
        return client

    return build


@pytest.mark.parametrize(("path", "method", "role"), list(_cells()))
def test_api_cell(client_for, path, method, role):
    action = expected_api_action(path, method)
    response = getattr(client_for(role), method)(path, {}, format="json")
    status = response.status_code
    assert status < 500, f"{method.upper()} {path} as {role}: server error {status}"
    if role == "anonymous":
        assert status == 401, f"{method.upper()} {path}: anonymous got {status} (docs/api.md: 401)"
    elif action in EXPECTED_ROLE_ACTIONS[role]:
        assert status not in {401, 403}, f"{method.upper()} {path}: {role} holds {action} but got {status}"
    else:
        assert status == 403, f"{method.upper()} {path}: {role} lacks {action} but got {status}"


def _admin_cells():
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        for action in model_admin.actions or []:
            name = action if isinstance(action, str) else action.__name__
            for role in ["anonymous", *ROLES]:
                yield pytest.param(label, name, role, id=f"admin {label}.{name} {role}")


@pytest.mark.parametrize(("label", "name", "role"), list(_admin_cells()))
def test_admin_action_cell(make_user, label, name, role):
    from django.apps import apps
    from django.contrib.auth.models import AnonymousUser

    assert name in ADMIN_ACTIONS.get(label, {}), f"admin action {label}.{name} is not declared in ADMIN_ACTIONS"
    required = ADMIN_ACTIONS[label][name]
    request = RequestFactory().post("/admin/")
    request.user = AnonymousUser() if role == "anonymous" else make_user(role)
    model_admin = admin.site._registry[apps.get_model(label)]
    allowed = role in STAFF_ROLES and required in EXPECTED_ROLE_ACTIONS[role]
    reachable = admin.site.has_permission(request) and name in model_admin.get_actions(request)
    assert reachable == allowed, f"{label}.{name} as {role}: expected {'allowed' if allowed else 'denied'}"


def test_every_declared_admin_action_exists():
    """A stale row (an action renamed or removed) would let the table rot."""
    from django.apps import apps

    for label, actions in ADMIN_ACTIONS.items():
        model_admin = admin.site._registry.get(apps.get_model(label))
        assert model_admin is not None, label
        names = {a if isinstance(a, str) else a.__name__ for a in model_admin.actions or []}
        assert set(actions) <= names, (label, set(actions) - names)

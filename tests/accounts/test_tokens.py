"""API tokens: Bearer auth, stored hashed, expiry and revocation, and the token_create command."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.services import token_create, token_revoke
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_token_create_prints_only_the_token_and_creates_the_user():
    out = io.StringIO()
    call_command("token_create", "airflow", "--role", "service", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("cst_") and "\n" not in raw
    user = User.objects.get(username="airflow")
    assert user.role == "service"
    token = ApiToken.objects.get(user=user)
    assert raw not in token.digest and token.digest != raw
    assert bearer(raw).get(reverse("me")).json()["role"] == "service"


def test_token_create_refuses_a_role_change_of_an_existing_user(make_user):
    make_user("viewer", username="existing")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="exists with role"):
        call_command("token_create", "existing", "--role", "admin", stdout=io.StringIO())


def test_expired_revoked_and_unknown_tokens_are_refused(make_user):
    user = make_user("service")
    _, expired_raw = token_create(user=user, actor="cli:test", days=1)
    ApiToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_raw = token_create(user=user, actor="cli:test")
    token_revoke(token=revoked, actor="cli:test")
    for raw in (expired_raw, revoked_raw, "cst_unknown"):
        response = bearer(raw).get(reverse("me"))
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "Invalid, expired or revoked token."
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_use_is_audited_at_most_once_per_interval(make_user):
    user = make_user("service")
    _, raw = token_create(user=user, actor="cli:test")
    client = bearer(raw)
    client.get(reverse("me"))
    client.get(reverse("me"))
    assert AuditEvent.objects.filter(action="accounts.token.use").count() == 1


def test_an_inactive_users_token_stops_working(make_user):
    user = make_user("service")
    _, raw = token_create(user=user, actor="cli:test")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert bearer(raw).get(reverse("me")).status_code == 401


def test_session_login_is_audited_without_the_attempted_username(client, make_user):
    user = make_user("steward", username="sam")
    user.set_password("correct horse battery")
    user.save()
    assert client.login(username="sam", password="correct horse battery")
    assert client.login(username="mallory@example.com", password="x") is False
    assert AuditEvent.objects.filter(action="accounts.login", actor_name="sam").exists()
    failed = AuditEvent.objects.get(action="accounts.login_failed")
    assert "mallory" not in str(failed.details) + failed.target_id + failed.reason

"""Brute force (issue 17, item 3): django-axes locks a username + IP pair out after
``AXES_FAILURE_LIMIT`` wrong passwords at /accounts/login/ and /admin/login/ for a finite cool-off,
the lockout is a ledger event without the password, and token-authenticated writes and expensive
reads are rate limited with a 429 in the API error shape. Real DB, real HTTP (Django's client)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import Role
from audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "pw-for-tests-only"  # tests/factories.py
WRONG = "Tr0ub4dor&3-wrong-guess"
LOGINS = {"accounts": "/accounts/login/", "admin": "/admin/login/"}


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = 15 / 60
    return settings


def _login(client, url, username, password, ip="203.0.113.7"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("site", list(LOGINS))
def test_forty_wrong_passwords_then_the_right_one_does_not_log_in(axes_on, client, site):
    user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    url = LOGINS[site]
    for _ in range(40):
        _login(client, url, user.username, WRONG)
    response = _login(client, url, user.username, RIGHT)
    assert response.status_code == 429
    assert not _logged_in(client)


@pytest.mark.parametrize("site", list(LOGINS))
def test_four_wrong_passwords_do_not_lock_and_a_success_resets_the_count(axes_on, client, site):
    user = UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True)
    url = LOGINS[site]
    for _ in range(4):
        assert _login(client, url, user.username, WRONG).status_code == 200
    assert _login(client, url, user.username, RIGHT).status_code == 302
    assert _logged_in(client)
    client.logout()
    for _ in range(4):
        _login(client, url, user.username, WRONG)
    assert _login(client, url, user.username, RIGHT).status_code == 302  # count was reset


def test_the_lockout_is_per_username_and_ip(axes_on, client):
    user, other = UserFactory(), UserFactory()
    for _ in range(5):
        _login(client, LOGINS["accounts"], user.username, WRONG)
    assert _login(client, LOGINS["accounts"], user.username, RIGHT).status_code == 429
    # the same account from another address, and another account from the same address
    assert _login(client, LOGINS["accounts"], user.username, RIGHT, ip="198.51.100.2").status_code == 302
    client.logout()
    assert _login(client, LOGINS["accounts"], other.username, RIGHT).status_code == 302


def test_the_cool_off_is_finite(axes_on, client):
    user = UserFactory()
    for _ in range(5):
        _login(client, LOGINS["accounts"], user.username, WRONG)
    assert _login(client, LOGINS["accounts"], user.username, RIGHT).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, LOGINS["accounts"], user.username, RIGHT).status_code == 302
    assert _logged_in(client)


def test_a_lockout_is_audited_without_the_password_username_or_ip(axes_on, client):
    user = UserFactory(username="dana.locked")
    for _ in range(5):
        _login(client, LOGINS["admin"], user.username, WRONG)
    events = AuditEvent.objects.filter(action="accounts.login_locked_out")
    assert events.exists()
    event = events.first()
    assert event.target_type == "accounts.user" and event.target_id == str(user.pk)
    assert event.details == {"login": "admin", "failure_limit": 5, "cooloff_minutes": 15}
    for event in AuditEvent.objects.all():
        stored = bytes(event.body) + str(event.details).encode() + event.reason.encode() + event.target_id.encode()
        assert WRONG.encode() not in stored and b"203.0.113.7" not in stored
    assert b"dana.locked" not in bytes(event.body)
    # axes keeps the attempt for operators, with the password masked
    assert WRONG not in str(AccessAttempt.objects.values_list("post_data", flat=True).first())


def test_an_unknown_username_is_locked_out_and_audited_as_unknown(axes_on, client):
    for _ in range(5):
        _login(client, LOGINS["accounts"], "nobody-here", WRONG)
    assert AuditEvent.objects.filter(action="accounts.login_locked_out", target_id="unknown").exists()


# --- DRF throttling on token-authenticated calls ------------------------------------------------


@pytest.fixture
def rates(settings):
    def set_rates(**scopes):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": scopes}
        cache.clear()

    yield set_rates
    cache.clear()


def _token_client(api_client_class, user):
    _, raw = account_services.token_create(user=user, actor="tests")
    client = api_client_class()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def token_client():
    from rest_framework.test import APIClient

    return lambda user: _token_client(APIClient, user)


def test_token_writes_over_the_rate_get_a_429_in_the_error_shape(rates, token_client):
    rates(token_write="3/minute", token_expensive_read="100/minute")
    service = UserFactory(role=Role.SERVICE)
    client = token_client(service)
    for n in range(3):
        assert client.post(reverse("tag-list"), {"name": f"t{n}"}, format="json").status_code == 201
    response = client.post(reverse("tag-list"), {"name": "t3"}, format="json")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["status"] == 429 and error["code"] == "throttled"
    assert "throttled" in error["message"].lower()
    assert 0 < int(response["Retry-After"]) <= 60
    # reads are not writes; another token has its own count
    assert client.get(reverse("tag-list")).status_code == 200
    assert token_client(service).post(reverse("tag-list"), {"name": "t4"}, format="json").status_code == 201


def test_session_writes_are_not_throttled_by_the_token_rate(rates, client):
    rates(token_write="1/minute", token_expensive_read="1/minute")
    client.force_login(UserFactory(role=Role.STEWARD, is_staff=True))
    for n in range(3):
        assert client.post(reverse("tag-list"), {"name": f"s{n}"}, content_type="application/json").status_code == 201


def test_expensive_token_reads_are_throttled(rates, token_client):
    rates(token_write="100/minute", token_expensive_read="2/minute")
    client = token_client(UserFactory(role=Role.VIEWER))
    assert [client.get(reverse("search"), {"q": "x"}).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(reverse("tag-list")).status_code == 200  # an ordinary read is not expensive

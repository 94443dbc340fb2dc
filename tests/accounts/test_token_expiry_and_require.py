"""Defect 6 (a token always expires) and accounts.permissions.require (services check the actor)."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import ApiToken, User
from accounts.permissions import ADMINISTER, CHANGE, require
from accounts.services import token_create, token_revoke, user_set_role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("days", ["-1", "0"])
def test_it_refuses_token_create_with_a_lifetime_below_one_day(days):
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("token_create", "etl", "--role", "service", "--days", days, stdout=io.StringIO())
    assert not ApiToken.objects.exists()
    assert not User.objects.filter(username="etl").exists()


def test_it_always_sets_an_expiry(make_user):
    user = make_user("service")
    token, _ = token_create(user=user, actor="cli:test")
    assert token.expires_at is not None
    with pytest.raises(ValidationError):
        token_create(user=user, actor="cli:test", days=-1)


def test_it_names_role_action_and_kind_when_refusing(make_user):
    viewer = make_user("viewer")
    with pytest.raises(PermissionDenied, match="^viewer may not change assets$"):
        require(viewer, CHANGE, "assets")
    require(make_user("steward"), CHANGE, "assets")


def test_it_refuses_anonymous():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied, match="^anonymous may not administer tokens$"):
        require(AnonymousUser(), ADMINISTER, "tokens")


@pytest.mark.parametrize("role", ["steward", "auditor", "service", "viewer"])
def test_only_admins_manage_tokens_and_roles(make_user, role):
    actor = make_user(role)
    target = make_user("service", username="svc")
    token, _ = token_create(user=target, actor="cli:test")
    with pytest.raises(PermissionDenied):
        token_create(user=target, actor=actor)
    with pytest.raises(PermissionDenied):
        token_revoke(token=token, actor=actor)
    with pytest.raises(PermissionDenied):
        user_set_role(user=target, role="admin", actor=actor)
    token_revoke(token=token, actor=make_user("admin"))

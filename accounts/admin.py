from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import ApiToken, User
from accounts.permissions import ADMINISTER, user_can
from core.admin import CustosModelAdmin, ReadableJSONMixin, service_action


@admin.register(User)
class UserAdmin(ReadableJSONMixin, DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Custos", {"fields": ("role",)}))


@admin.register(ApiToken)
class ApiTokenAdmin(CustosModelAdmin):
    """Tokens are created with ``manage.py token_create`` (the secret is shown once); here they are
    listed and revoked."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "name")
    readonly_fields = ("user", "name", "prefix", "digest", "created_at", "expires_at", "revoked_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_administer_permission(self, request, obj=None):
        return user_can(request.user, ADMINISTER)

    @service_action(
        description="Revoke selected tokens",
        permissions=[ADMINISTER],
        warning="A revoked token stops working at once and cannot be restored (create a new one).",
        summary=lambda token: f"{token.user}, " + ("revoked" if token.revoked_at else "active"),
    )
    def revoke(self, request, token, *, reason):
        from accounts.services import token_revoke

        if token.revoked_at is not None:
            return False  # already revoked: keep the original revocation time
        token_revoke(token=token, actor=request.user, reason=reason)
        return True

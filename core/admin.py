"""Shared admin pieces: ``CustosModelAdmin``, ``ReadOnlyAdmin`` and ``service_action`` for bulk actions.

Every ModelAdmin of every app derives from ``CustosModelAdmin`` (or ``ReadOnlyAdmin``), which gives:

- readable JSON: an editable JSON field is a pretty-printed, monospaced textarea that Django's
  ``forms.JSONField`` validates on save ("Enter a valid JSON."); a read-only one (listed in
  ``readonly_fields`` or ``machine_written_json``, or on a page the user may only view) is shown
  as indented ``<pre>`` text instead of one long line;
- ``has_<action>_permission`` for every role-matrix action, so actions declare
  ``permissions=["decide"]`` and Django shows them only to roles holding the action; an action the
  user may not run that is posted anyway is refused with a message saying which permission it needs.

``service_action`` makes a bulk action a thin caller of a service, with one confirmation step::

    @service_action(description="Confirm selected classifications", permissions=["decide"])
    def confirm(self, request, obj, *, reason):
        classification_confirm(classification=obj, actor=request.user, reason=reason)

Choosing the action shows an intermediate page listing the selected objects with a required
reason (and the extra fields of ``form=``, a ``ReasonForm`` subclass, none preselected). On
"apply" the wrapped function is called once per object with the cleaned form values as keyword
arguments (``reason`` always); it passes ``actor=request.user`` and the reason to the service, which
checks the role matrix and writes the audit event. It returns ``False`` when the object was left
as it was (already so). A ``PermissionDenied`` or ``ValidationError`` from the service is counted
as refused with its message, the other objects are still tried, and one summary message says what
was done: "<description>: 2 changed, 1 unchanged, 1 refused." plus one line per refusal reason.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.permissions import ADD, ADMINISTER, AUDIT, CHANGE, DECIDE, DELETE, EXPORT, VIEW, VIEW_RESTRICTED, user_can

SITE_NAME = "Custos administration"
PRETTY_SUFFIX = "_pretty"
PREVIEW_LIMIT = 50  # objects listed on a confirmation page; the count is always shown


# --- readable JSON --------------------------------------------------------------------------------


def pretty_json(value: Any, encoder: type[json.JSONEncoder] | None = None) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, cls=encoder or DjangoJSONEncoder)


class PrettyJSONWidget(forms.Textarea):
    """A monospaced textarea holding indented JSON, as tall as its content (2 to 16 rows)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"class": "custos-json", "spellcheck": "false", "autocapitalize": "off", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        text = super().format_value(value)
        if not text:
            return text
        try:
            return pretty_json(json.loads(text))
        except (TypeError, ValueError):
            return text  # what the user typed, kept as typed so they can fix it

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        lines = (self.format_value(value) or "").count("\n") + 1
        context["widget"]["attrs"]["rows"] = min(max(lines, 2), 16)
        return context


def _json_display(field: models.JSONField) -> Callable[[models.Model], str]:
    def show(obj: models.Model) -> str:
        value = getattr(obj, field.name)
        if value in (None, "", [], {}):
            return "—"
        return format_html('<pre class="custos-json">{}</pre>', pretty_json(value, field.encoder))

    show.short_description = field.verbose_name  # type: ignore[attr-defined]
    return show


class ReadableJSONMixin:
    """Pretty JSON in forms, indented ``<pre>`` for read-only JSON (see the module doc).

    ``machine_written_json`` names JSON fields that code writes (scan evidence, former column
    names, run reports): always shown read-only here, even to users who may change the object.
    """

    formfield_overrides = {models.JSONField: {"widget": PrettyJSONWidget}}
    machine_written_json: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._json_fields = [f for f in self.model._meta.concrete_fields if isinstance(f, models.JSONField)]
        for field in self._json_fields:
            setattr(self, field.name + PRETTY_SUFFIX, _json_display(field))

    def _json_names(self) -> set[str]:
        return {f.name for f in self._json_fields}

    def _shown_pretty(self, request, obj=None) -> set[str]:
        """JSON fields rendered as read-only text on this page."""
        if obj is not None and not self.has_change_permission(request, obj):
            return self._json_names()
        readonly = set(super().get_readonly_fields(request, obj)) | set(self.machine_written_json)
        return readonly & self._json_names()

    def _map(self, names: Iterable[Any], pretty: set[str]) -> list[Any]:
        return [n + PRETTY_SUFFIX if isinstance(n, str) and n in pretty else n for n in names]

    def get_readonly_fields(self, request, obj=None):
        base = list(super().get_readonly_fields(request, obj))
        base += [n for n in self.machine_written_json if n not in base]
        return tuple(self._map(base, self._shown_pretty(request, obj)))

    def get_exclude(self, request, obj=None):
        # the raw form field of a JSON field shown as text must not be in the form as well
        excluded = list(super().get_exclude(request, obj) or ())
        hidden = self._shown_pretty(request, obj)
        return [*excluded, *sorted(hidden - set(excluded))] or None

    def get_fields(self, request, obj=None):
        if self.fields:
            return self._map(self.fields, self._shown_pretty(request, obj))
        fields = list(super().get_fields(request, obj))
        excluded = set(self.exclude or ())
        for name in [f.name for f in self._json_fields if f.name in self._shown_pretty(request, obj)]:
            if name + PRETTY_SUFFIX not in fields and name not in excluded:
                fields.append(name + PRETTY_SUFFIX)
        return fields

    def get_fieldsets(self, request, obj=None):
        pretty = self._shown_pretty(request, obj)
        mapped = []
        for title, options in super().get_fieldsets(request, obj):
            rows = [
                self._map(row, pretty) if isinstance(row, (list, tuple)) else self._map([row], pretty)[0]
                for row in options.get("fields", ())
            ]
            mapped.append((title, {**options, "fields": rows}))
        return mapped


# --- role-matrix permissions for actions ----------------------------------------------------------


def _role_name(user: Any) -> str:
    # for messages only (core knows no role matrix): the user's role field, as accounts sets it
    if not getattr(user, "is_authenticated", False):
        return "anonymous"
    return str(getattr(user, "role", "") or "user")


class RoleActionPermissionsMixin:
    """``has_<action>_permission`` for every role-matrix action, so actions can declare
    ``permissions=["decide"]`` etc. and Django shows them only to roles holding the action."""

    def has_decide_permission(self, request, obj=None):
        return user_can(request.user, DECIDE)

    def has_export_permission(self, request, obj=None):
        return user_can(request.user, EXPORT)

    def has_audit_permission(self, request, obj=None):
        return user_can(request.user, AUDIT)

    def has_view_restricted_permission(self, request, obj=None):
        return user_can(request.user, VIEW_RESTRICTED)

    def has_administer_permission(self, request, obj=None):
        return user_can(request.user, ADMINISTER)

    def changelist_view(self, request, extra_context=None):
        # Django drops a posted action the user may not run without a word (or runs nothing when
        # the user has no action at all); say who may not run what, and why, and change nothing.
        name = request.POST.get("action", "") if request.method == "POST" else ""
        base = {a[1]: a for a in self._get_base_actions()}
        if name in base and name not in self.get_actions(request):
            needed = ", ".join(getattr(base[name][0], "allowed_permissions", ()) or ("?",))
            self.message_user(
                request,
                f"{_role_name(request.user)} may not run “{base[name][2]}”: it needs the {needed} permission",
                level=messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())
        return super().changelist_view(request, extra_context)


class DeleteReasonForm(forms.Form):
    """The reason asked on a single object's delete confirmation page."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Required. Recorded with the deletion in the audit ledger; write why, not personal data.",
    )


class DeleteReasonMixin:
    """Deleting one object from its admin page asks a reason, as every bulk action does.

    The confirmation page (``admin/custos/delete_confirmation.html``) carries a required reason
    field; a post without one deletes nothing and shows the page again with the error. The reason
    reaches ``delete_model`` through ``self.delete_reason(request)``, which passes it to the
    service (its audit event holds it). When ``delete_model`` reports a refusal
    (``self.delete_refused(request)``), the page goes back to the object without Django's
    "deleted successfully" message."""

    delete_confirmation_template = "admin/custos/delete_confirmation.html"

    def delete_view(self, request, object_id, extra_context=None):
        form = DeleteReasonForm(request.POST) if request.method == "POST" else DeleteReasonForm()
        if request.method == "POST":
            if form.is_valid():
                request.custos_delete_reason = form.cleaned_data["reason"]
            else:
                # Django deletes on any non-empty POST: an empty one renders the confirmation again
                request.POST = QueryDict()
        return super().delete_view(request, object_id, {**(extra_context or {}), "reason_form": form})

    def delete_reason(self, request) -> str:
        return getattr(request, "custos_delete_reason", "")

    def delete_refused(self, request, message: str) -> None:
        request.custos_delete_refused = True
        self.message_user(request, f"Not deleted: {message}", level=messages.ERROR)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "custos_delete_refused", False):
            opts = self.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj_id], current_app=self.admin_site.name)
            return HttpResponseRedirect(url)
        return super().response_delete(request, obj_display, obj_id)


class CustosModelAdmin(ReadableJSONMixin, RoleActionPermissionsMixin, DeleteReasonMixin, admin.ModelAdmin):
    """The base of every Custos ModelAdmin (readable JSON, role-matrix action permissions, a reason
    for every single-object delete)."""


class ReadOnlyAdmin(CustosModelAdmin):
    """Nobody adds, changes or deletes through this admin, superusers included (ledger, runs)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- bulk actions: confirm, give a reason, call the service, report -------------------------------


class ReasonForm(forms.Form):
    """The confirmation step's form: a required reason, after any fields a subclass declares."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Required. Recorded with each change in the audit ledger; write why, not personal data.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"] = self.fields.pop("reason")  # last, after the subclass's fields


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or "permission denied"


def _names(objs: list[Any], limit: int = 5) -> str:
    shown = ", ".join(str(o) for o in objs[:limit])
    return shown + (f" and {len(objs) - limit} more" if len(objs) > limit else "")


def _run(fn: Callable, modeladmin, request, queryset, values: dict[str, Any]) -> tuple[int, int, dict[str, list[Any]]]:
    changed, unchanged, refused = 0, 0, {}
    for obj in queryset:
        try:
            result = fn(modeladmin, request, obj, **values)
        except (PermissionDenied, ValidationError) as exc:
            refused.setdefault(_message_of(exc), []).append(obj)
        else:
            if result is False:
                unchanged += 1
            else:
                changed += 1
    return changed, unchanged, refused


def _report(modeladmin, request, description: str, changed: int, unchanged: int, refused: dict[str, list[Any]]) -> None:
    n_refused = sum(len(objs) for objs in refused.values())
    parts = [f"{changed} changed"] + ([f"{unchanged} unchanged"] if unchanged else []) + [f"{n_refused} refused"]
    level = messages.SUCCESS if not n_refused else messages.WARNING if changed or unchanged else messages.ERROR
    modeladmin.message_user(request, f"{description}: {', '.join(parts)}.", level)
    for why, objs in refused.items():
        modeladmin.message_user(request, f"Refused ({len(objs)}): {why} -- {_names(objs)}", messages.ERROR)


def _confirmation_page(modeladmin, request, queryset, *, name: str, description: str, form, warning: str, summary):
    opts = modeladmin.model._meta
    total = queryset.count()
    preview = [(obj, summary(obj) if summary else "") for obj in queryset[:PREVIEW_LIMIT]]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": description,
        "subtitle": None,
        "opts": opts,
        "app_label": opts.app_label,
        "action_name": name,
        "description": description,
        "warning": warning,
        "form": form,
        "media": modeladmin.media + form.media,
        "preview": preview,
        "total": total,
        "more": max(total - PREVIEW_LIMIT, 0),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "cancel_url": request.get_full_path(),
    }
    return TemplateResponse(request, "admin/custos/confirm_action.html", context)


def service_action(
    *,
    description: str,
    permissions: Iterable[str] | None = None,
    form: type[ReasonForm] = ReasonForm,
    warning: str = "",
    summary: Callable[[Any], str] | None = None,
) -> Callable[[Callable], Callable]:
    """Decorate ``fn(self, request, obj, *, reason, **form_fields)`` into a confirmed admin action
    over a queryset (see the module doc). ``warning`` is shown on the confirmation page (say what
    cannot be undone); ``summary(obj)`` adds the object's current state to its line there."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def action(modeladmin, request, queryset):
            bound = form(request.POST) if "apply" in request.POST else form()
            if bound.is_bound and bound.is_valid():
                changed, unchanged, refused = _run(fn, modeladmin, request, queryset, dict(bound.cleaned_data))
                _report(modeladmin, request, description, changed, unchanged, refused)
                return None
            return _confirmation_page(
                modeladmin,
                request,
                queryset,
                name=fn.__name__,
                description=description,
                form=bound,
                warning=warning,
                summary=summary,
            )

        return admin.action(description=description, permissions=list(permissions) if permissions else None)(action)

    return decorate


# --- the site ---------------------------------------------------------------------------------------

admin.site.site_header = SITE_NAME
admin.site.site_title = SITE_NAME
admin.site.index_title = SITE_NAME
# Django's stock bulk delete asks for no reason and skips the services' reasons: off everywhere.
# Deleting one object from its page stays (through each admin's delete_model, i.e. the service).
admin.site.disable_action("delete_selected")


__all__ = [
    "CustosModelAdmin",
    "DeleteReasonForm",
    "DeleteReasonMixin",
    "PrettyJSONWidget",
    "ReadOnlyAdmin",
    "ReasonForm",
    "RoleActionPermissionsMixin",
    "service_action",
    "SITE_NAME",
    "VIEW",
    "ADD",
    "CHANGE",
    "DELETE",
]

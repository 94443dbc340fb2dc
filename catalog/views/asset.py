"""The asset page: tabs Schema, About, History and the panels other apps register for slot
"asset" (core.pages). About fields are edited in place through the catalog services with the
request user as actor; the service's ``require()`` decides and a refusal is shown as a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import ADD, CHANGE, DECIDE, require, user_can
from catalog import selectors
from catalog.choices import ClassificationSource, LegalBasis, Sensitivity
from catalog.forms import AssetFieldForm
from catalog.models import Classification, DataAsset, Domain, GlossaryTerm, Tag
from core import pages


def _provenance(label: Classification, origins: dict) -> dict[str, Any]:
    """Where a label came from, for the schema tab (never a raw value: evidence holds none)."""
    evidence = label.evidence if isinstance(label.evidence, dict) else {}
    info: dict[str, Any] = {"source": label.source}
    if label.source == ClassificationSource.SCAN:
        share = evidence.get("share")
        info |= {
            "scan_run": evidence.get("scan_run"),
            "share": share * 100 if isinstance(share, int | float) else None,
            "recognizers": [str(r) for r in evidence.get("recognizers") or []][:5],
            "sampled": evidence.get("sampled"),
            "name_hint": bool(evidence.get("name_hint_used")),
        }
    elif label.source == ClassificationSource.PROPAGATED:
        origin = evidence.get("origin") if isinstance(evidence.get("origin"), dict) else {}
        origin_column = origins.get(origin.get("column_id"))
        path = [origins.get(cid) for cid in (evidence.get("path") or []) if isinstance(cid, int)]
        info |= {
            "origin": origin_column,
            "origin_source": origin.get("source", ""),
            "origin_hidden": origin_column is None,
            "edges": [e for e in (evidence.get("edges") or []) if isinstance(e, int)],
            "hops": max(len(path) - 1, 0),
            "path": [c for c in path if c is not None],
            "path_hidden": len([c for c in path if c is None]),
        }
    return info


def asset_context(request, asset: DataAsset) -> dict[str, Any]:
    """Everything the asset page shows, in a bounded number of queries whatever the column count."""
    selectors.attach_asset_stats([asset])
    columns = list(asset.columns.all())
    labels = [label for column in columns for label in column.classifications.all()]
    origins = selectors.label_origins(user=request.user, classifications=labels)
    for column in columns:
        column.labels = [(label, _provenance(label, origins)) for label in column.classifications.all()]
        column.pii = any(label.state != "rejected" for label in column.classifications.all())
    history_kind, history = selectors.asset_history(user=request.user, asset=asset, columns=columns)
    panels = pages.panels_for("asset", request, asset)
    return {
        "asset": asset,
        "columns": columns,
        "pii_columns": sum(1 for c in columns if c.pii),
        "can_edit": user_can(request.user, CHANGE),
        "can_decide": user_can(request.user, DECIDE),
        "can_add": user_can(request.user, ADD),  # a new tag name creates the tag (tag_ensure requires add)
        "sensitivities": Sensitivity.choices,
        "legal_bases": LegalBasis.choices,
        "domains": Domain.objects.restrict(request.user).only("pk", "name") if user_can(request.user, CHANGE) else [],
        "history_kind": history_kind,
        "history": history,
        "panels": panels,
        "tabs": [("schema", "Schema"), ("about", "About"), ("history", "History")]
        + [("panel-" + p["key"], p["label"]) for p in panels],
    }


@login_required
def asset_page(request, pk: int):
    asset = get_object_or_404(selectors.asset_page_detail(user=request.user), pk=pk)
    return render(request, "catalog/asset.html", asset_context(request, asset))


@login_required
@require_POST
def asset_edit(request, pk: int):
    """POST one About field (``catalog.forms.AssetFieldForm``). htmx requests get the About
    section back (with the outcome in it); others are redirected to the page (303) on success,
    or get the page with the refusal and status 403 (not allowed) or 400 (invalid)."""
    asset = get_object_or_404(selectors.asset_list(user=request.user), pk=pk)
    form = AssetFieldForm(request.POST)
    status = 200
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        status = 400
    else:
        try:
            form.save(asset=asset, actor=request.user)
        except PermissionDenied as exc:
            messages.error(request, f"Not changed: {exc}.")
            status = 403
        except ValidationError as exc:
            messages.error(request, "Not changed: " + " ".join(exc.messages))
            status = 400
        else:
            field = form.cleaned_data["field"].replace("_", " ")
            messages.success(request, f"Saved {field}.")
    fresh = get_object_or_404(selectors.asset_page_detail(user=request.user), pk=pk)
    if request.headers.get("HX-Request"):
        context = asset_context(request, fresh)
        return render(request, "catalog/_about.html", context | {"inline_messages": True})
    if status == 200:
        return redirect(reverse("catalog:asset", args=[pk]) + "#about", permanent=False)
    return render(request, "catalog/asset.html", asset_context(request, fresh), status=status)


PICKER_LIMIT = 8


@login_required
@require_GET
def people_search(request):
    """``GET /people-search/?q=TEXT``: up to 8 active users whose username or name contains TEXT,
    for the owners/stewards picker (``{"users": [{"username", "name", "role"}], "more": bool}``).

    Only users who may change assets get an answer (others 403: they have no picker). The signed-in
    user is offered only when their role may decide: adding oneself is a steward decision the
    service refuses otherwise. ``exclude`` (comma-separated usernames already chosen) are left out."""
    try:
        require(request.user, CHANGE, "assets")
    except PermissionDenied as exc:
        return JsonResponse({"error": {"status": 403, "code": "forbidden", "message": str(exc)}}, status=403)
    text = request.GET.get("q", "").strip()[:100]
    users = get_user_model().objects.filter(is_active=True)
    if text:
        users = users.filter(Q(username__icontains=text) | Q(first_name__icontains=text) | Q(last_name__icontains=text))
    exclude = [name.strip() for name in request.GET.get("exclude", "").split(",") if name.strip()][:100]
    if exclude:
        users = users.exclude(username__in=exclude)
    if not user_can(request.user, DECIDE):
        users = users.exclude(pk=request.user.pk)
    found = list(users.order_by("username").only("username", "first_name", "last_name", "role")[: PICKER_LIMIT + 1])
    return JsonResponse(
        {
            "users": [
                {"username": u.username, "name": u.get_full_name(), "role": u.get_role_display()} for u in found[:PICKER_LIMIT]
            ],
            "more": len(found) > PICKER_LIMIT,
        }
    )


def _label_search(request, queryset):
    """The tag and glossary-term pickers' search: up to 8 existing ``queryset`` rows (scoped by
    ``restrict``) whose name contains ``q``, minus ``exclude`` (names already chosen), as
    ``{"items": [{"value": name, "detail": description}], "more": bool}``. Only users who may
    change assets get an answer (403 otherwise). Names holding a comma are not offered: the About
    form posts names comma-separated, so such a name could not be saved through it."""
    try:
        require(request.user, CHANGE, "assets")
    except PermissionDenied as exc:
        return JsonResponse({"error": {"status": 403, "code": "forbidden", "message": str(exc)}}, status=403)
    text = request.GET.get("q", "").strip()[:100]
    rows = queryset.restrict(request.user).exclude(name__contains=",")
    if text:
        rows = rows.filter(name__icontains=text)
    exclude = [name.strip() for name in request.GET.get("exclude", "").split(",") if name.strip()][:100]
    if exclude:
        rows = rows.exclude(name__in=exclude)
    found = list(rows.order_by("name").only("name", "description")[: PICKER_LIMIT + 1])
    return JsonResponse(
        {
            "items": [{"value": row.name, "detail": Truncator(row.description).chars(80)} for row in found[:PICKER_LIMIT]],
            "more": len(found) > PICKER_LIMIT,
        }
    )


@login_required
@require_GET
def tag_search(request):
    """``GET /tag-search/?q=TEXT&exclude=a,b``: existing tags for the About tab's tag picker."""
    return _label_search(request, Tag.objects)


@login_required
@require_GET
def term_search(request):
    """``GET /term-search/?q=TEXT&exclude=a,b``: existing glossary terms for the term picker."""
    return _label_search(request, GlossaryTerm.objects)

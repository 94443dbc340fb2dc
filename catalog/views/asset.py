"""The asset page: tabs Schema, About, History and the panels other apps register for slot
"asset" (core.pages). About fields are edited in place through the catalog services with the
request user as actor; the service's ``require()`` decides and a refusal is shown as a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import CHANGE, user_can
from catalog import selectors
from catalog.choices import ClassificationSource
from catalog.forms import AssetFieldForm
from catalog.models import Classification, DataAsset, Domain
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

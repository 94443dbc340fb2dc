"""The review queue: stewards confirm or reject suggested classifications, with the evidence that
made the suggestion and a sample of the column as the reader's access decision allows.

Reads go through the catalog's scoped selector (``classification_list``: ``restrict(user, VIEW)``)
and the access service (``asset_sample_read``, the one behind ``GET /api/v1/assets/{id}/sample``);
decisions through ``catalog.services.classification_confirm`` / ``classification_reject``, the
services the API calls, with ``actor=request.user``: the service's ``require(DECIDE)`` decides and
a refusal is shown as a message. Everyone who may view the catalog may read the queue; only roles
with ``decide`` get the controls (docs/pages.md "Review queue").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import DECIDE, VIEW, user_can
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.choices import SENSITIVITY_RANK, AssetStatus, ClassificationSource, ClassificationState
from catalog.models import Classification, DataAsset
from compliance.access import sample as access_sample
from compliance.policies.choices import Purpose

ASSETS_PER_PAGE = 10
SAMPLE_ROWS = 5
MAX_BULK = 500  # one bulk decision never covers more than this many suggestions
DECISIONS = {"confirm": catalog_services.classification_confirm, "reject": catalog_services.classification_reject}
PAST = {"confirm": "accepted", "reject": "rejected"}


# --- reads ---------------------------------------------------------------------------------------


def open_suggestions(user: Any) -> QuerySet[Classification]:
    """Suggested classifications ``user`` may see that still wait for a steward.

    Not open: a suggestion whose column already carries the same entity type as a *confirmed*
    label (from any source, e.g. the steward's own), suggestions on deleted assets, and decided
    rows. Scoped by ``catalog.selectors.classification_list`` (``restrict(user, VIEW)``).
    """
    same_confirmed = Classification.objects.filter(
        column=OuterRef("column"), entity_type=OuterRef("entity_type"), state=ClassificationState.CONFIRMED
    )
    return (
        catalog_selectors.classification_list(user=user)
        .filter(state=ClassificationState.SUGGESTED)
        .exclude(column__asset__status=AssetStatus.DELETED)
        .exclude(Exists(same_confirmed))
    )


@dataclass
class Row:
    """The open suggestions of one entity type on one column (a scan's and an import's of the same
    label are one decision): shown as one row, accepted or rejected together."""

    column: Any
    entity_type: str
    items: list[Classification] = field(default_factory=list)
    sample_values: list[str] | None = None

    @property
    def pk(self) -> int:
        return self.items[0].pk

    @property
    def ids(self) -> str:
        return ",".join(str(c.pk) for c in self.items)

    @property
    def sensitivity(self) -> str:
        return max((c.sensitivity for c in self.items), key=lambda s: SENSITIVITY_RANK.get(s, 0))


ROW_ORDER = ("column__asset_id", "column__position", "column__name", "entity_type", "source")


def rows_of(suggestions) -> list[Row]:
    """Group suggestions (ordered by ``ROW_ORDER``) into rows, one per column and entity type."""
    rows: dict[tuple[int, str], Row] = {}
    for suggestion in suggestions:
        suggestion.evidence_view = evidence_view(suggestion)
        key = (suggestion.column_id, suggestion.entity_type)
        if key not in rows:
            rows[key] = Row(column=suggestion.column, entity_type=suggestion.entity_type)
        rows[key].items.append(suggestion)
    return list(rows.values())


@dataclass
class AssetGroup:
    """One asset's open suggestions, as the queue shows them."""

    asset: DataAsset
    open_count: int
    suggestions: list[Row] = field(default_factory=list)


def _filtered(request) -> tuple[QuerySet[Classification], dict[str, str]]:
    qs = open_suggestions(request.user)
    filters = {"source": request.GET.get("source", ""), "entity_type": request.GET.get("entity_type", "").strip().upper()}
    if filters["source"] in ClassificationSource.values:
        qs = qs.filter(source=filters["source"])
    else:
        filters["source"] = ""
    if filters["entity_type"]:
        qs = qs.filter(entity_type=filters["entity_type"][:64])
    return qs, filters


def _groups(qs: QuerySet[Classification], asset_ids: list[int], counts: dict[int, int], user) -> list[AssetGroup]:
    assets = {a.pk: a for a in DataAsset.objects.restrict(user, VIEW).select_related("source").filter(pk__in=asset_ids)}
    groups = {pk: AssetGroup(asset=assets[pk], open_count=counts[pk]) for pk in asset_ids if pk in assets}
    suggestions = qs.filter(column__asset_id__in=list(groups)).select_related("column").order_by(*ROW_ORDER)
    for row in rows_of(suggestions):
        groups[row.column.asset_id].suggestions.append(row)
    return [groups[pk] for pk in asset_ids if pk in groups]


def evidence_view(c: Classification) -> dict[str, Any]:
    """What made the suggestion, for display: signal, counts and shares; never a data value."""
    e = c.evidence or {}
    if c.source == ClassificationSource.SCAN:
        share = e.get("share")
        return {
            "signal": ", ".join(e.get("recognizers") or []) or "scan",
            "share": f"{share * 100:.1f}%" if isinstance(share, int | float) else None,
            "sampled": e.get("sampled"),
            "nonnull": e.get("nonnull"),
            "name_hint_used": bool(e.get("name_hint_used")),
            "scan_run": e.get("scan_run"),
        }
    if c.source == ClassificationSource.PROPAGATED:
        origin = e.get("origin") or {}
        return {
            "signal": "lineage",
            "origin_column": origin.get("column_id"),
            "origin_state": origin.get("state"),
            "hops": len(e.get("edges") or []),
        }
    if c.source == ClassificationSource.IMPORTED:
        return {"signal": "OpenLineage tag"}
    return {"signal": c.get_source_display()}


def _purpose(request) -> str:
    purpose = request.GET.get("purpose", "")
    return purpose if purpose in Purpose.values else Purpose.AUDIT


def _context(request, groups, filters, **extra) -> dict[str, Any]:
    return {
        "groups": groups,
        "filters": filters,
        "sources": ClassificationSource.choices,
        "purposes": Purpose.choices,
        "purpose": _purpose(request),
        "can_decide": user_can(request.user, DECIDE),
        "next": request.get_full_path(),
        **extra,
    }


@login_required
@require_GET
def queue(request):
    """``review:queue``: assets with open suggestions, most first, ``ASSETS_PER_PAGE`` a page."""
    qs, filters = _filtered(request)
    # One grouped query gives the pages, the asset count and the total (counting them separately
    # ran the open-suggestion filter three times over the whole catalog).
    per_asset = list(qs.order_by().values_list("column__asset_id").annotate(n=Count("id")).order_by("-n", "column__asset_id"))
    page = Paginator(per_asset, ASSETS_PER_PAGE).get_page(request.GET.get("page"))
    counts = dict(page.object_list)
    groups = _groups(qs, list(counts), counts, request.user)
    total = sum(n for _, n in per_asset)
    return render(request, "scanning/queue.html", _context(request, groups, filters, page=page, total=total))


def _visible_asset(request, pk: int) -> DataAsset:
    asset = DataAsset.objects.restrict(request.user, VIEW).select_related("source").filter(pk=pk).first()
    if asset is None:
        raise Http404("no such asset")
    return asset


def shape(value: str) -> str:
    """A value's shape: upper-case letters become ``A``, lower-case ``a``, digits ``9``; the rest stays."""
    return "".join("9" if ch.isdigit() else ("A" if ch.isupper() else "a") if ch.isalpha() else ch for ch in value)


def read_sample(request, asset: DataAsset, purpose: str, *, shapes: bool = False) -> dict[str, Any]:
    """The asset's first rows through ``asset_sample_read`` (audited there), as a display dict:
    ``{"effect", "reasons", "masked", "columns": {name: [values]}, "error"}``. With ``shapes``,
    columns the decision left in clear are reduced to their :func:`shape` (the queue's view)."""
    try:
        decision, frame = access_sample.asset_sample_read(actor=request.user, asset=asset, purpose=purpose, limit=SAMPLE_ROWS)
    except PermissionDenied as exc:
        return {"effect": "deny", "reasons": [str(exc)], "masked": [], "columns": {}, "error": ""}
    except ValidationError as exc:
        return {"effect": None, "reasons": [], "masked": [], "columns": {}, "error": "; ".join(exc.messages)}
    result = {"effect": decision.effect, "reasons": decision.reasons, "masked": decision.masked_columns, "error": ""}
    if frame is None:
        result["columns"] = {}
        return result
    result["columns"] = {
        str(name): ["" if value is None or value != value else str(value) for value in frame[name].tolist()]
        for name in frame.columns
    }
    if shapes:
        # The queue shows a reviewer the *shape* of what the decision left in clear (``aaa@aaaa.aaa``,
        # ``999-99-9999``): enough to judge a label, never more than the decision allows.
        result["shaped"] = sorted(n for n in result["columns"] if n not in result["masked"])
        for name in result["shaped"]:
            result["columns"][name] = [shape(v) for v in result["columns"][name]]
    result["header"] = list(result["columns"])
    result["rows"] = [[result["columns"][c][i] for c in result["header"]] for i in range(len(frame))]
    return result


@login_required
@require_GET
def asset_review(request, pk: int):
    """``review:asset``: one asset's open suggestions with the sample read on the server."""
    asset = _visible_asset(request, pk)
    qs, filters = _filtered(request)
    qs = qs.filter(column__asset=asset)
    count = qs.count()
    groups = _groups(qs, [asset.pk], {asset.pk: count}, request.user) if count else []
    sample = read_sample(request, asset, _purpose(request), shapes=True) if groups else None
    if groups:
        for suggestion in groups[0].suggestions:
            suggestion.sample_values = sample["columns"].get(suggestion.column.name)
    return render(request, "scanning/asset.html", _context(request, groups, filters, asset=asset, sample=sample))


@login_required
@require_GET
def asset_sample(request, pk: int):
    """``review:sample``: the sample of one asset as htmx out-of-band fragments, one per
    suggestion row (``#sample-<classification id>``), or a table (``?as=table``)."""
    asset = _visible_asset(request, pk)
    purpose = _purpose(request)
    as_table = request.GET.get("as") == "table"  # the asset page's Sample tab: rows as the API gives them
    sample = read_sample(request, asset, purpose, shapes=not as_table)
    context = {"sample": sample, "asset": asset, "purpose": purpose}
    if as_table:
        template = "scanning/_sample_table.html" if request.headers.get("HX-Request") else "scanning/sample_page.html"
        return render(request, template, context)
    rows = rows_of(_filtered(request)[0].filter(column__asset=asset).select_related("column").order_by(*ROW_ORDER))
    for row in rows:
        row.sample_values = sample["columns"].get(row.column.name)
    return render(request, "scanning/_sample_oob.html", {**context, "suggestions": rows})


def _back(request) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("review:queue")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def decide(request):
    """Accept (``confirm``) or reject the suggestions named by ``ids`` with a ``reason``.

    Each goes through the catalog service with ``actor=request.user``; what the service refuses
    (role, a row that is no longer a suggestion) is reported, never a 500. Rows the user may not
    see are "not found" (as in the API, 404 rather than 403).
    """
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "").strip()
    raw_ids = [part for value in request.POST.getlist("ids") for part in value.split(",")]  # a row: "12,13"
    ids = sorted({int(i) for i in raw_ids if i.isascii() and i.isdigit() and len(i) < 19})[:MAX_BULK]
    if decision not in DECISIONS:
        messages.error(request, "Choose accept or reject.")
        return _back(request)
    if not reason:
        messages.error(request, "A reason is required to accept or reject a suggestion; nothing was changed.")
        return _back(request)
    if not ids:
        messages.error(request, "No suggestion selected; nothing was changed.")
        return _back(request)
    found = {c.pk: c for c in catalog_selectors.classification_list(user=request.user).filter(pk__in=ids)}
    done: list[Classification] = []
    refused: dict[str, list[int]] = {}  # why -> ids, so one refusal of many rows reads once
    for pk in ids:
        classification = found.get(pk)
        if classification is None:
            refused.setdefault("not found", []).append(pk)
            continue
        if classification.state != ClassificationState.SUGGESTED:
            refused.setdefault(f"already {classification.state}", []).append(pk)
            continue
        try:
            DECISIONS[decision](classification=classification, actor=request.user, reason=reason)
        except PermissionDenied as exc:
            refused.setdefault(str(exc), []).append(pk)
            continue
        except ValidationError as exc:
            refused.setdefault("; ".join(exc.messages), []).append(pk)
            continue
        done.append(classification)
    if done:
        names = ", ".join(f"{c.entity_type} on {c.column.asset.name}.{c.column.name}" for c in done[:5]) + (
            " …" if len(done) > 5 else ""
        )
        plural = "s" if len(done) != 1 else ""
        messages.success(request, f"{PAST[decision].capitalize()} {len(done)} suggestion{plural}: {names}.")
    for why, pks in refused.items():
        plural = "s" if len(pks) != 1 else ""
        messages.error(request, f"Refused, nothing changed for {len(pks)} suggestion{plural}: {why}.")
    return _back(request)

"""The search page: one text box over assets, columns, models, tags and glossary terms, with
facets (counts of the matching assets per source, kind, domain, owner, tag, glossary term,
sensitivity, PII entity type and status). Same selectors, FilterSet and scoping as the API."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import QueryDict
from django.shortcuts import render

from catalog import selectors
from catalog.choices import AssetKind, AssetStatus, Sensitivity
from catalog.filters import DataAssetFilterSet

FACET_LABELS = {
    "source": "Source",
    "kind": "Kind",
    "domain": "Domain",
    "owner": "Owner",
    "tag": "Tag",
    "glossary_term": "Glossary term",
    "sensitivity": "Sensitivity",
    "entity_type": "PII entity type",
    "status": "Status",
}
TYPE_LABELS = {"asset": "Assets", "column": "Columns", "model": "Models", "tag": "Tags", "glossary_term": "Glossary terms"}
# filter parameters the page keeps when moving between facets and pages (DataAssetFilterSet names)
KEPT = (*selectors.FACETS, "steward", "has_pii")
PER_PAGE = 50
ENTITY_TYPE = re.compile(r"[A-Z][A-Z0-9_]{1,63}")


def _link(params: QueryDict, **changes) -> str:
    """``?...`` for ``params`` with ``changes`` applied (None removes a key; a list sets all values)."""
    query = params.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        elif isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    if "page" not in changes:
        query.pop("page", None)  # a new filter starts at the first page
    return "?" + urlencode(sorted((k, v) for k, values in query.lists() for v in values))


CHOICES = {
    "kind": set(AssetKind.values),
    "sensitivity": set(Sensitivity.values),
    "status": set(AssetStatus.values),
}


def _shown_value(name: str, value: str) -> bool:
    """Whether an applied filter value may be shown back (kept in links and hidden inputs): a
    value outside a choice list or an entity-type pattern is refused, never repeated."""
    if name in CHOICES:
        return value in CHOICES[name]
    if name == "entity_type":
        return bool(ENTITY_TYPE.fullmatch(value.upper()))
    return len(value) <= 200


def _facet_groups(params: QueryDict, facets: dict[str, list[selectors.FacetValue]]) -> list[dict]:
    """Facets for the template: each value with its count, whether it is applied, and the link
    that toggles it (multi-valued for the choice facets, single-valued for the others)."""
    groups = []
    multi = {"kind", "sensitivity", "status"}
    for name in selectors.FACETS:
        chosen = [value for value in params.getlist(name) if _shown_value(name, value)]
        values = []
        for facet in facets.get(name, []):
            on = facet.value in chosen or (name == "entity_type" and facet.value.upper() in [c.upper() for c in chosen])
            if name in multi:
                rest = [c for c in chosen if c != facet.value] if on else [*chosen, facet.value]
                href = _link(params, **{name: rest or None})
            else:
                href = _link(params, **{name: None if on else facet.value})
            values.append({"value": facet.value, "label": facet.label, "count": facet.count, "on": on, "href": href})
        shown = {v["value"] for v in values}
        # an applied value with no matching asset left still shows, so it can be removed
        for value in chosen:
            if value not in shown:
                rest = [c for c in chosen if c != value]
                values.append(
                    {"value": value, "label": value, "count": 0, "on": True, "href": _link(params, **{name: rest or None})}
                )
        groups.append({"name": name, "label": FACET_LABELS[name], "values": values, "applied": bool(chosen)})
    return groups


def _filter_data(get: QueryDict) -> QueryDict:
    """The DataAssetFilterSet parameters of the request (all of them: a bad value is refused by it)."""
    data = QueryDict(mutable=True)
    for key in KEPT:
        if key in get:
            data.setlist(key, get.getlist(key))
    return data


def _kept_params(get: QueryDict) -> QueryDict:
    """The request's parameters the page repeats in its links and forms: ``q``, ``type``, ``page``
    and the filter values that may be shown back (:func:`_shown_value`)."""
    kept = QueryDict(mutable=True)
    for key in ("q", "type", "page"):
        if key in get:
            kept[key] = get[key][:200]
    for key in KEPT:
        values = [v for v in get.getlist(key) if _shown_value(key, v)]
        if values:
            kept.setlist(key, values)
    return kept


@login_required
def search(request):
    """``/search/?q=...&<asset filters>&type=<hit type>``; without ``q`` it lists the assets."""
    params = _kept_params(request.GET)
    query = params.get("q", "").strip()[:200]
    hit_type = params.get("type", "")
    if hit_type not in selectors.SEARCH_TYPES:
        hit_type = ""
    assets = DataAssetFilterSet(_filter_data(request.GET), queryset=selectors.asset_list(user=request.user), request=request)
    filtered = assets.qs if assets.is_valid() else assets.queryset.none()
    matching = (
        filtered.filter(Q(name__icontains=query) | Q(qualified_name__icontains=query) | Q(description__icontains=query))
        if query
        else filtered
    )
    unfiltered = not query and not any(key in request.GET for key in KEPT)
    facets = selectors.asset_facets(assets=matching, everything_of=request.user if unfiltered else None)
    facet_groups = _facet_groups(params, facets)
    context = {
        "query": query,
        "filter": assets,
        "errors": [str(e) for errors in assets.errors.values() for e in errors] if assets.is_bound else [],
        "facets": facet_groups,
        "facets_any": any(group["values"] for group in facet_groups),
        "applied": any(key in request.GET for key in KEPT),
        "clear_href": _link(QueryDict(), **({"q": query} if query else {})),
        "hit_type": hit_type,
        "type_labels": TYPE_LABELS,
        "steward": params.get("steward", ""),
        "unsteward_href": _link(params, steward=None),
        "has_pii": params.get("has_pii", "") if params.get("has_pii", "") in ("true", "false") else "",
    }
    if query:
        types = (hit_type,) if hit_type else selectors.SEARCH_TYPES
        hits, totals, capped = selectors.search_page(
            user=request.user, query=query, types=types, assets=filtered, limit=100 if hit_type else 20
        )
        if hit_type:  # the other types' totals for the tabs, without fetching their hits
            _, other, other_capped = selectors.search_page(
                user=request.user,
                query=query,
                types=tuple(t for t in selectors.SEARCH_TYPES if t != hit_type),
                assets=filtered,
                limit=0,
            )
            totals, capped = {t: (totals | other)[t] for t in selectors.SEARCH_TYPES}, capped | other_capped
        context |= {
            "hits": hits,
            "totals": totals,
            "type_tabs": [
                {
                    "type": t,
                    "label": TYPE_LABELS[t],
                    "count": f"{selectors.COUNT_CAP}+" if t in capped else totals.get(t, 0),
                    "href": _link(params, type=t),
                    "on": t == hit_type,
                }
                for t in selectors.SEARCH_TYPES
            ],
            "all_href": _link(params, type=None),
            "total": sum(totals.values()),
            "total_capped": bool(capped),
        }
    else:
        page = Paginator(matching, PER_PAGE).get_page(params.get("page"))
        rows = list(selectors.attach_asset_stats(list(page.object_list)))
        context |= {
            "page": page,
            "assets": rows,
            "prev_href": _link(params, page=str(page.previous_page_number())) if page.has_previous() else "",
            "next_href": _link(params, page=str(page.next_page_number())) if page.has_next() else "",
        }
    return render(request, "catalog/search.html", context)

"""Glossary term, domain, tag and people pages. Each lists the assets (and columns, models) that
use the object, read through the scoped selectors and the same DataAssetFilterSet the API and the
search page use; the first rows are shown with a link to the search page for all of them."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from accounts.permissions import VIEW
from catalog import selectors
from catalog.filters import DataAssetFilterSet, MLModelFilterSet
from catalog.models import Column, Domain, GlossaryTerm, Tag

SHOWN = 50


def _assets(request, **filters) -> dict:
    """The first SHOWN assets matching ``filters`` (DataAssetFilterSet parameters), their count,
    and the search-page link that lists all of them."""
    data = QueryDict(mutable=True)
    data.update(filters)
    qs = DataAssetFilterSet(data, queryset=selectors.asset_list(user=request.user), request=request).qs
    rows = list(selectors.attach_asset_stats(list(qs[:SHOWN])))
    count = len(rows) if len(rows) < SHOWN else qs.count()
    return {"rows": rows, "count": count, "more": count > len(rows), "href": reverse("catalog:search") + "?" + urlencode(filters)}


def _columns(request, **lookup) -> dict:
    qs = Column.objects.restrict(request.user, VIEW).filter(**lookup).select_related("asset", "asset__source")
    rows = list(qs.order_by("asset__qualified_name", "position")[:SHOWN])
    return {"rows": rows, "count": len(rows) if len(rows) < SHOWN else qs.count()}


def _models(request, **filters) -> list:
    data = QueryDict(mutable=True)
    data.update(filters)
    return list(MLModelFilterSet(data, queryset=selectors.model_list(user=request.user), request=request).qs[:SHOWN])


@login_required
def glossary_term(request, pk: int):
    term = get_object_or_404(GlossaryTerm.objects.restrict(request.user, VIEW).select_related("domain"), pk=pk)
    return render(
        request,
        "catalog/glossary_term.html",
        {
            "term": term,
            "assets": _assets(request, glossary_term=str(term.pk)),
            "columns": _columns(request, glossary_terms=term),
            "related": GlossaryTerm.objects.restrict(request.user, VIEW).filter(domain_id=term.domain_id).exclude(pk=term.pk)[:20]
            if term.domain_id
            else [],
        },
    )


@login_required
def domain(request, pk: int):
    found = get_object_or_404(Domain.objects.restrict(request.user, VIEW).select_related("owner"), pk=pk)
    return render(
        request,
        "catalog/domain.html",
        {
            "domain": found,
            "assets": _assets(request, domain=str(found.pk)),
            "terms": list(GlossaryTerm.objects.restrict(request.user, VIEW).filter(domain=found)[:SHOWN]),
            "models": _models(request, domain=str(found.pk)),
        },
    )


@login_required
def tag(request, key: str):
    """A tag by id or by name."""
    tags = Tag.objects.restrict(request.user, VIEW)
    found = (tags.filter(pk=int(key)) if key.isascii() and key.isdigit() else tags.filter(name=key)).first()
    if found is None:
        raise Http404("no such tag")
    return render(
        request,
        "catalog/tag.html",
        {
            "tag": found,
            "assets": _assets(request, tag=str(found.pk)),
            "columns": _columns(request, tags=found),
            "models": _models(request, tag=str(found.pk)),
        },
    )


@login_required
def person(request, username: str):
    """A person's assets: those they own ("my assets" on one's own page) and those they steward."""
    found = get_object_or_404(get_user_model(), username=username)
    return render(
        request,
        "catalog/person.html",
        {
            "person": found,
            "me": found.pk == request.user.pk,
            "owned": _assets(request, owner=str(found.pk)),
            "stewarded": _assets(request, steward=str(found.pk)),
            "models": _models(request, owner=str(found.pk)),
            "domains": list(Domain.objects.restrict(request.user, VIEW).filter(owner=found)[:SHOWN]),
        },
    )

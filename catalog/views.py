"""Pages for stewards and auditors: search the catalog and read an asset. Same selectors and
permission scoping as the API."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from catalog import selectors
from catalog.filters import DataAssetFilterSet


@login_required
def home(request):
    assets = DataAssetFilterSet(request.GET, queryset=selectors.asset_list(user=request.user), request=request)
    query = request.GET.get("q", "").strip()
    hits, totals = selectors.search(user=request.user, query=query, assets=assets.qs, limit=20) if query else ([], {})
    return render(
        request,
        "catalog/home.html",
        {
            "filter": assets,
            "assets": selectors.attach_asset_stats(list(assets.qs[:100])),
            "query": query,
            "hits": hits,
            "totals": totals,
        },
    )


@login_required
def asset_page(request, pk: int):
    asset = get_object_or_404(selectors.asset_detail(user=request.user), pk=pk)
    selectors.attach_asset_stats([asset])
    return render(request, "catalog/asset.html", {"asset": asset})

"""What the catalog app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors."""

from core import pages

pages.nav_item("catalog:home", "Catalog", order=10)
pages.nav_item("dashboard", "Dashboard", order=15)


LEFT_OUT_IDS = 2000


def label_counts(request):
    """``catalog.selectors.label_counts`` for this request's user, computed once per request: the
    PII-coverage panel and the review panel (compliance/panels.py) read the same aggregate."""
    from catalog.selectors import label_counts as compute

    cached = getattr(request, "_custos_label_counts", None)
    if cached is None or cached[0] != request.user.pk:
        cached = (request.user.pk, compute(user=request.user))
        request._custos_label_counts = cached
    return cached[1]


def pii_coverage(request, obj):
    """Columns the reader may see (of assets not deleted): how many carry a live PII label
    (suggested or confirmed), how many a confirmed one, and how many assets hold PII.

    Counted from the classifications (a few per labelled column), not by probing every column:
    the label figures are one aggregate shared with the review panel (:func:`label_counts`), plus
    three counts of columns and assets whatever the catalog size."""
    from accounts.permissions import VIEW, user_can
    from catalog.choices import AssetStatus
    from catalog.models import Column, DataAsset

    user = request.user
    counts = label_counts(request)
    labels = {"classified": counts.classified, "confirmed": counts.confirmed, "assets_with_pii": counts.assets_with_pii}
    # Columns are visible exactly when their asset is (catalog.querysets.AssetScopedQuerySet), so
    # the visible columns of live assets are all columns minus those of the deleted or hidden
    # assets: an index count plus a count over those few assets' columns (joining every column to
    # its asset cost ~40-60 ms at 200,000 under load).
    live_assets = DataAsset.objects.restrict(user, VIEW).exclude(status=AssetStatus.DELETED)
    if user_can(user, VIEW):
        # the ids first: as a subquery PostgreSQL hashes it against a scan of every column (a
        # subquery all the same past LEFT_OUT_IDS ids, to keep the statement's parameters bounded)
        left_out_assets = DataAsset.objects.exclude(pk__in=live_assets.values("pk")).order_by().values_list("pk", flat=True)
        left_out = list(left_out_assets[: LEFT_OUT_IDS + 1])
        columns = Column.objects.count()
        if len(left_out) > LEFT_OUT_IDS:
            columns -= Column.objects.filter(asset_id__in=left_out_assets).count()
        elif left_out:
            columns -= Column.objects.filter(asset_id__in=left_out).count()
    else:
        columns = 0
    assets = live_assets.count()

    def pct(n, of):
        return round(100 * n / of, 1) if of else None

    return {
        **labels,
        "columns": columns,
        "assets": assets,
        "classified_pct": pct(labels["classified"], columns),
        "confirmed_pct": pct(labels["confirmed"], columns),
        "assets_pct": pct(labels["assets_with_pii"], assets),
    }


pages.panel("dashboard", "pii_coverage", label="PII coverage", template="core/dashboard/pii_coverage.html",
            context=pii_coverage, order=10, permission="view")  # fmt: skip

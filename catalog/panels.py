"""What the catalog app adds to pages through ``core.pages`` (header links, asset-page tabs,
model-version sections, dashboard sections). Imported once from ``AppConfig.ready()``; every
context function reads through this app's scoped selectors."""

from core import pages

pages.nav_item("catalog:home", "Catalog", order=10)
pages.nav_item("dashboard", "Dashboard", order=15)


def pii_coverage(request, obj):
    """Columns the reader may see (of assets not deleted): how many carry a live PII label
    (suggested or confirmed), how many a confirmed one, and how many assets hold PII."""
    from django.db.models import Count, Exists, OuterRef, Q

    from accounts.permissions import VIEW
    from catalog.choices import AssetStatus, ClassificationState
    from catalog.models import Classification, Column
    from catalog.selectors import LIVE_STATES

    live = Classification.objects.filter(column=OuterRef("pk"), state__in=LIVE_STATES)
    confirmed = Classification.objects.filter(column=OuterRef("pk"), state=ClassificationState.CONFIRMED)
    columns = (
        Column.objects.restrict(request.user, VIEW)
        .exclude(asset__status=AssetStatus.DELETED)
        .annotate(has_live=Exists(live), has_confirmed=Exists(confirmed))
    )
    totals = columns.aggregate(
        columns=Count("pk"),
        classified=Count("pk", filter=Q(has_live=True)),
        confirmed=Count("pk", filter=Q(has_confirmed=True)),
        assets=Count("asset", distinct=True),
        assets_with_pii=Count("asset", distinct=True, filter=Q(has_live=True)),
    )

    def pct(n, of):
        return round(100 * n / of, 1) if of else None

    return {
        **totals,
        "classified_pct": pct(totals["classified"], totals["columns"]),
        "confirmed_pct": pct(totals["confirmed"], totals["columns"]),
        "assets_pct": pct(totals["assets_with_pii"], totals["assets"]),
    }


pages.panel("dashboard", "pii_coverage", label="PII coverage", template="core/dashboard/pii_coverage.html",
            context=pii_coverage, order=10, permission="view")  # fmt: skip

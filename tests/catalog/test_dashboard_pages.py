"""The dashboard's PII-coverage and review figures (one shared label aggregate, columns counted by
subtraction) equal straightforward counts for every role, on a catalog with deleted, restricted,
owned-restricted and registered-restricted assets, rejected labels and superseded suggestions."""

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.permissions import VIEW
from catalog.choices import AssetStatus, ClassificationState
from catalog.models import Classification, Column, DataAsset
from catalog.selectors import LIVE_STATES
from compliance.scanning.views import open_suggestions
from tests.factories import AssetFactory, ClassificationFactory, ColumnFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(make_user):
    """Assets of every kind the scoping and the status filter treat differently, each with columns
    holding suggested, confirmed, rejected and superseded labels from several sources."""
    viewer = make_user(Role.VIEWER)
    service = make_user(Role.SERVICE)
    kinds = [
        ({}, 3),
        ({"sensitivity": "confidential"}, 2),
        ({"status": AssetStatus.DELETED}, 2),
        ({"sensitivity": "restricted"}, 2),  # hidden from viewer and service
        ({"sensitivity": "restricted", "status": AssetStatus.DELETED}, 1),
        ({"sensitivity": "restricted", "owners": [viewer]}, 1),  # the viewer owns it: visible to them
        ({"sensitivity": "restricted", "registered_by": service}, 1),  # the service registered it
    ]
    n = 0
    for fields, count in kinds:
        owners = fields.pop("owners", [])
        for _ in range(count):
            asset = AssetFactory(**fields)
            asset.owners.set(owners)
            cols = [ColumnFactory(asset=asset) for _ in range(4 + n % 3)]
            n += 1
            # col 0: a scan suggestion; col 1: confirmed by a steward and the same type suggested
            # by a scan (superseded: not open); col 2: rejected, plus an import suggestion of
            # another type; col 3 onwards: nothing
            ClassificationFactory(column=cols[0], entity_type="EMAIL_ADDRESS", source="scan")
            ClassificationFactory(column=cols[1], entity_type="US_SSN", source="steward", state=ClassificationState.CONFIRMED)
            ClassificationFactory(column=cols[1], entity_type="US_SSN", source="scan")
            ClassificationFactory(column=cols[2], entity_type="PHONE_NUMBER", source="scan", state=ClassificationState.REJECTED)
            ClassificationFactory(column=cols[2], entity_type="PERSON", source="imported")
            if n % 2:  # a second open one on the same column from propagation
                ClassificationFactory(column=cols[0], entity_type="EMAIL_ADDRESS", source="propagated")
    # an asset whose only label is rejected: no PII
    ClassificationFactory(column=ColumnFactory(), entity_type="IP_ADDRESS", state=ClassificationState.REJECTED)
    return {"viewer": viewer, "service": service}


def expected(user):
    """The figures as the plainest queries compute them."""
    live_assets = DataAsset.objects.restrict(user, VIEW).exclude(status=AssetStatus.DELETED)
    columns = Column.objects.restrict(user, VIEW).filter(asset__in=live_assets)
    labels = Classification.objects.restrict(user, VIEW).filter(state__in=LIVE_STATES, column__in=columns)
    confirmed = labels.filter(state=ClassificationState.CONFIRMED)
    open_ = open_suggestions(user)
    return {
        "columns": columns.count(),
        "assets": live_assets.count(),
        "classified": labels.values("column").distinct().count(),
        "confirmed": confirmed.values("column").distinct().count(),
        "assets_with_pii": labels.values("column__asset").distinct().count(),
        "open": open_.count(),
        "open_assets": open_.values("column__asset").distinct().count(),
        "oldest": min((c.created_at for c in open_), default=None),
        "by_source": sorted((s, open_.filter(source=s).count()) for s in set(open_.values_list("source", flat=True))),
    }


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STEWARD, Role.AUDITOR, Role.VIEWER, Role.SERVICE])
def test_dashboard_figures_equal_straightforward_counts_for_every_role(client, make_user, catalog, role):
    user = catalog["viewer"] if role == Role.VIEWER else catalog["service"] if role == Role.SERVICE else make_user(role)
    client.force_login(user)
    panels = {p["key"]: p["context"] for p in client.get(reverse("dashboard")).context["panels"]}
    want = expected(user)
    pii, review = panels["pii_coverage"], panels["review"]
    got = {
        "columns": pii["columns"],
        "assets": pii["assets"],
        "classified": pii["classified"],
        "confirmed": pii["confirmed"],
        "assets_with_pii": pii["assets_with_pii"],
        "open": review["open"],
        "open_assets": review["assets"],
        "oldest": review["oldest"],
        "by_source": sorted(review["by_source"]),
    }
    assert got == want
    # the fixture does exercise what the figures leave out
    assert 0 < want["open"] < Classification.objects.filter(state=ClassificationState.SUGGESTED).count()
    assert want["columns"] < Column.objects.count()


def test_restricted_assets_change_the_viewers_figures(client, catalog):
    """The viewer sees their own restricted asset but not the two others: the figures move with it."""
    viewer = catalog["viewer"]
    client.force_login(viewer)
    before = {p["key"]: p["context"] for p in client.get(reverse("dashboard")).context["panels"]}
    DataAsset.objects.filter(owners=viewer).update(sensitivity="internal")  # still visible: same figures
    DataAsset.objects.filter(sensitivity="restricted", status=AssetStatus.ACTIVE).update(sensitivity="internal")
    after = {p["key"]: p["context"] for p in client.get(reverse("dashboard")).context["panels"]}
    assert after["pii_coverage"]["assets"] == before["pii_coverage"]["assets"] + 3  # two hidden + the service's
    assert after["pii_coverage"]["columns"] > before["pii_coverage"]["columns"]
    assert after["review"]["open"] > before["review"]["open"]
    assert after["pii_coverage"] == {**after["pii_coverage"], **{k: expected(viewer)[k] for k in ("columns", "assets")}}


def test_the_label_aggregate_runs_once_per_dashboard(client, make_user, catalog, django_assert_max_num_queries):
    """The PII-coverage and review panels share one pass over the classifications (each ran its
    own before: the join to every column, twice)."""
    for user in (make_user(Role.STEWARD), make_user(Role.AUDITOR), catalog["viewer"]):
        client.force_login(user)
        with django_assert_max_num_queries(20) as queries:
            client.get(reverse("dashboard"))
        over_labels = [q["sql"] for q in queries.captured_queries if 'FROM "catalog_classification"' in q["sql"]]
        assert len(over_labels) == 1, over_labels


def test_many_hidden_assets_are_subtracted_through_a_subquery(client, catalog, monkeypatch):
    """Past LEFT_OUT_IDS hidden or deleted assets the column count uses a subquery, same figure."""
    from catalog import panels

    monkeypatch.setattr(panels, "LEFT_OUT_IDS", 2)  # the fixture leaves out 5 assets for a viewer
    client.force_login(catalog["viewer"])
    pii = {p["key"]: p["context"] for p in client.get(reverse("dashboard")).context["panels"]}["pii_coverage"]
    assert pii["columns"] == expected(catalog["viewer"])["columns"]

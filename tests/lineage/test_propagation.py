"""PII propagation along column lineage: flows, stops at masking, follows upstream changes."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from audit.models import AuditEvent
from catalog import services as catalog
from catalog.models import Classification, Column
from lineage import selectors
from lineage.models import Edge
from lineage.openlineage import event_ingest
from lineage.propagation import ACTOR, propagation_plan, propagation_recompute
from lineage.services import edge_set_propagation
from tests.lineage import scenario
from tests.lineage.helpers import dataset, run_event


@pytest.fixture
def wh(make_user, django_capture_on_commit_callbacks):
    return scenario.build(make_user("service"), django_capture_on_commit_callbacks)


def propagated(column, entity_type="EMAIL_ADDRESS"):
    return Classification.objects.filter(column=column, entity_type=entity_type, source="propagated").first()


def test_a_confirmed_label_flows_downstream_and_stops_at_masking(wh, steward, django_capture_on_commit_callbacks):
    raw_email = wh.col(wh.raw, "email")
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=raw_email, entity_type="EMAIL_ADDRESS", actor=steward)

    staging = propagated(wh.col(wh.staging, "email"))
    exported = propagated(wh.col(wh.export, "email"))
    assert staging.state == "suggested" and exported is not None
    assert staging.evidence["origin"]["column_id"] == raw_email.pk
    assert exported.evidence["path"] == [raw_email.pk, wh.col(wh.staging, "email").pk, wh.col(wh.export, "email").pk]
    assert propagated(wh.col(wh.mart, "email_hash")) is None  # masked
    assert propagated(wh.col(wh.mart, "name")) is None  # another column's lineage
    assert AuditEvent.objects.filter(action="catalog.classification.suggest", actor_id="custos:propagation").count() == 2


def test_why_is_this_column_pii_returns_the_path(wh, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", actor=steward)

    answer = selectors.why_pii(user=steward, column_id=wh.col(wh.export, "email").pk)

    (item,) = answer["classifications"]
    assert item["source"] == "propagated"
    assert [step["name"] for step in item["path"]] == ["raw.customers.email", "staging.customers.email", "export.copy.email"]
    assert [e["transformation_subtype"] for e in item["edges"]] == ["IDENTITY", "IDENTITY"]
    assert all(e["run"]["state"] == "COMPLETE" for e in item["edges"])


def test_rejecting_the_origin_withdraws_what_was_propagated(wh, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scan = catalog.classification_suggest(
            column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", source="scan", actor="scanner"
        )
    assert propagated(wh.col(wh.export, "email")) is not None

    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_reject(classification=scan, actor=steward, reason="hashed already")

    assert not Classification.objects.filter(source="propagated").exists()
    assert AuditEvent.objects.filter(action="catalog.classification.withdraw").count() == 2


def test_a_steward_can_block_one_edge_and_allow_a_masking_one(wh, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", actor=steward)
    to_export = Edge.objects.get(dst_id=wh.col(wh.export, "email").pk, kind="derives")
    masked = Edge.objects.get(dst_id=wh.col(wh.mart, "email_hash").pk, kind="derives")

    with django_capture_on_commit_callbacks(execute=True):
        edge_set_propagation(edge=to_export, propagation="block", actor=steward, reason="export is tokenised downstream")
    with django_capture_on_commit_callbacks(execute=True):
        edge_set_propagation(edge=masked, propagation="allow", actor=steward, reason="weak hash, re-identifiable")

    assert propagated(wh.col(wh.export, "email")) is None
    assert propagated(wh.col(wh.mart, "email_hash")) is not None
    assert AuditEvent.objects.filter(action="lineage.edge.set_propagation").count() == 2


def test_a_steward_rejection_of_a_propagated_label_stops_it_there(wh, steward, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", actor=steward)
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_reject(classification=propagated(wh.col(wh.staging, "email")), actor=steward)

    assert propagated(wh.col(wh.staging, "email")).state == "rejected"
    assert propagated(wh.col(wh.export, "email")) is None


def test_new_lineage_from_a_classified_column_propagates(wh, steward, make_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=wh.col(wh.raw, "name"), entity_type="PERSON", actor=steward)
    assert propagated(wh.col(wh.mart, "name"), "PERSON") is not None

    late = dataset("late.people", lineage={"full_name": [("raw.customers", "name", False, "IDENTITY")]})
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest(payload=run_event("late", [dataset("raw.customers")], [late]), actor=make_user("service"))

    late_col = Classification.objects.get(column__asset__qualified_name="late.people", column__name="full_name")
    assert late_col.source == "propagated" and late_col.entity_type == "PERSON"


def test_withdrawing_the_origin_withdraws_downstream(wh, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scan = catalog.classification_suggest(
            column=wh.col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", source="scan", actor="scanner"
        )
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_withdraw(classification=scan, actor="scanner", reason="column emptied")
    assert not Classification.objects.filter(source="propagated").exists()


def _snapshot(since: int) -> dict:
    history = Classification.history.model.objects.filter(source="propagated")
    return {
        "rows": sorted(
            (c.column_id, c.entity_type, c.source, c.state, c.confidence, c.sensitivity, json.dumps(c.evidence, sort_keys=True))
            for c in Classification.objects.all()
        ),
        "events": sorted(
            (e.action, e.actor_id, e.target_type, e.reason, json.dumps(e.details, sort_keys=True))
            for e in AuditEvent.objects.filter(id__gt=since)
        ),
        "history": sorted(
            (h.history_type, h.column_id, h.entity_type, h.state, json.dumps(h.evidence, sort_keys=True)) for h in history
        ),
    }


def test_the_bulk_recompute_writes_what_the_row_by_row_services_wrote(wh, steward, django_capture_on_commit_callbacks):
    """Creations, refreshes and withdrawals in one recompute: the same rows, audit events and
    history as applying the same plan through classification_suggest/classification_withdraw."""
    col = wh.col
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=col(wh.raw, "email"), entity_type="EMAIL_ADDRESS", actor=steward)
        catalog.classification_suggest(column=col(wh.raw, "name"), entity_type="PERSON", source="scan", actor="scanner")
    assert propagated(col(wh.mart, "name"), "PERSON") is not None
    # Changes whose propagation has not run yet (callbacks dropped): withdrawals (EMAIL rejected),
    # a refresh (mart.name now reached from a new origin) and creations (a new LOCATION origin).
    with django_capture_on_commit_callbacks(execute=False):
        origin = Classification.objects.get(column=col(wh.raw, "email"), source="steward")
        catalog.classification_reject(classification=origin, actor=steward, reason="test data")
        catalog.classification_assign(column=col(wh.staging, "name"), entity_type="PERSON", actor=steward)
        catalog.classification_suggest(column=col(wh.raw, "country"), entity_type="LOCATION", source="scan", actor="scanner")
    starts = {col(wh.raw, name).pk for name in ("email", "name", "country")}
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    plan = propagation_plan(column_ids=starts)
    assert plan.suggestions and len(plan.withdraw) == 3  # staging.email, export.email, staging.name (now an origin)

    with transaction.atomic():  # the row-by-row services, then rolled back
        for s in plan.suggestions:
            catalog.classification_suggest(
                column=Column.objects.get(pk=s.column_id),
                entity_type=s.entity_type,
                source="propagated",
                actor=ACTOR,
                confidence=s.confidence,
                sensitivity=s.sensitivity,
                evidence=s.evidence,
            )
        for pk in plan.withdraw:
            catalog.classification_withdraw(
                classification=Classification.objects.get(pk=pk), actor=ACTOR, reason="propagation grounds vanished upstream"
            )
        row_by_row = _snapshot(since)
        transaction.set_rollback(True)

    stats = propagation_recompute(column_ids=starts)

    assert stats == {"created": 2, "refreshed": 1, "withdrawn": 3}
    assert _snapshot(since) == row_by_row


def test_pii_does_not_flow_along_an_indirect_edge_unless_a_steward_allows_it(
    steward, make_user, django_capture_on_commit_callbacks
):
    from lineage.graph import cache

    people = dataset("raw.people", columns=["email", "region"])
    counts = dataset(
        "agg.people_by_region",
        columns=["region", "people"],
        lineage={"region": [("raw.people", "region", False, "IDENTITY")]},
        wide=[("raw.people", "email", "FILTER")],  # WHERE email LIKE '%@corp.example': affects rows, not values
    )
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest(payload=run_event("count", [people], [counts]), actor=make_user("service"))
    email = Column.objects.get(asset__qualified_name="raw.people", name="email")
    region, total = (Column.objects.get(asset__qualified_name="agg.people_by_region", name=n) for n in ("region", "people"))
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=email, entity_type="EMAIL_ADDRESS", actor=steward)

    indirect = Edge.objects.get(src_id=email.pk, dst_id=total.pk)
    assert indirect.transformation_type == "INDIRECT" and not indirect.masking and indirect.stops_propagation
    with cache.reading() as graphs:
        assert graphs.columns[f"column:{email.pk}"][f"column:{total.pk}"]["stop"] is True
    assert propagated(total) is None and propagated(region) is None

    with django_capture_on_commit_callbacks(execute=True):
        edge_set_propagation(edge=indirect, propagation="allow", actor=steward, reason="the filter leaks the address domain")

    assert propagated(total) is not None and propagated(region) is None  # only the allowed edge
    (item,) = selectors.why_pii(user=steward, column_id=total.pk)["classifications"]
    assert [step["name"] for step in item["path"]] == ["raw.people.email", "agg.people_by_region.people"]
    (step,) = item["edges"]
    assert (step["transformation_type"], step["transformation_subtype"], step["propagation"]) == ("INDIRECT", "FILTER", "allow")
    assert step["stops_propagation"] is False

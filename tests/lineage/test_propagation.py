"""PII propagation along column lineage: flows, stops at masking, follows upstream changes."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from catalog import services as catalog
from catalog.models import Classification
from lineage import selectors
from lineage.models import Edge
from lineage.openlineage import event_ingest
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

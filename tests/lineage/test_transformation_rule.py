"""PII propagation errs on the safe side (issue 14, section 1): any unmasked DIRECT
transformation carries labels, whatever the order transformations are listed in; every
transformation is kept and shown; a steward may mark an edge as masking, with a reason."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from catalog import services as catalog
from catalog.models import Classification, Column
from lineage import selectors
from lineage.choices import NodeType, Propagation
from lineage.models import Edge
from lineage.openlineage import event_ingest
from lineage.services import edge_set_propagation
from lineage.transformations import normalise, summarise
from tests.lineage.helpers import NS, dataset, facet, run_event

pytestmark = pytest.mark.django_db

DIRECT = {"type": "DIRECT", "subtype": "IDENTITY", "description": "", "masking": False}
DIRECT_MASKED = {"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "md5(email)", "masking": True}
INDIRECT = {"type": "INDIRECT", "subtype": "CONDITION", "description": "CASE WHEN b > 1", "masking": False}


def _ingest(service, transformations: list[dict] | None, *, field: str = "b") -> Edge:
    src = dataset("src.t", columns=["a", "b"])
    item = {"namespace": NS, "name": "src.t", "field": field}
    if transformations is not None:
        item["transformations"] = transformations
    out = dataset("out.t", columns=["x"])
    out["facets"]["columnLineage"] = facet(fields={"x": {"inputFields": [item]}})
    event_ingest(payload=run_event("job", [src], [out]), actor=service)
    src_col = Column.objects.get(asset__qualified_name="src.t", name=field)
    return Edge.objects.get(src_type=NodeType.COLUMN, src_id=src_col.pk, valid_to__isnull=True)


def _label_reaches_output(steward, edge: Edge, capture) -> bool:
    with capture(execute=True):
        catalog.classification_assign(column=Column.objects.get(pk=edge.src_id), entity_type="US_SSN", actor=steward)
    return Classification.objects.filter(column_id=edge.dst_id, entity_type="US_SSN", source="propagated").exists()


@pytest.fixture
def service(make_user):
    return make_user("service")


@pytest.mark.parametrize(
    "transformations,reaches",
    [
        ([INDIRECT, DIRECT], True),  # Hive: CASE WHEN b > 1 THEN a ELSE a + b END lists b INDIRECT, then DIRECT
        ([DIRECT, INDIRECT], True),
        ([DIRECT_MASKED, DIRECT], True),  # CASE WHEN consent THEN email ELSE md5(email) END
        ([DIRECT, DIRECT_MASKED], True),
        ([DIRECT_MASKED], False),
        ([DIRECT_MASKED, INDIRECT], False),  # every DIRECT masks
        ([INDIRECT], False),
        ([], True),  # openlineage-dbt's md5(email): empty means DIRECT, unmasked (the safe side)
        (None, True),
    ],
)
def test_it_carries_labels_when_any_direct_transformation_does_not_mask(
    service, steward, django_capture_on_commit_callbacks, transformations, reaches
):
    edge = _ingest(service, transformations)

    assert _label_reaches_output(steward, edge, django_capture_on_commit_callbacks) is reaches
    assert edge.stops_propagation is not reaches
    assert edge.transformations == normalise(transformations)


def test_it_keeps_every_transformation_and_shows_them_in_why_pii(service, steward, django_capture_on_commit_callbacks):
    edge = _ingest(service, [INDIRECT, DIRECT])
    assert (edge.transformation_type, edge.masking) == ("DIRECT", False)
    _label_reaches_output(steward, edge, django_capture_on_commit_callbacks)

    answer = selectors.why_pii(user=steward, column_id=edge.dst_id)

    (item,) = answer["classifications"]
    (shown,) = item["edges"]
    assert shown["transformations"] == [INDIRECT, DIRECT]
    assert shown["stops_propagation"] is False


def test_a_changed_transformation_list_replaces_the_edge(service):
    first = _ingest(service, [DIRECT])
    second = _ingest(service, [DIRECT, DIRECT_MASKED])

    first.refresh_from_db()
    assert first.valid_to is not None and second.pk != first.pk
    assert second.transformations == [DIRECT, DIRECT_MASKED]


def test_a_steward_marks_an_edge_masking_with_a_reason_audited(service, steward, django_capture_on_commit_callbacks):
    edge = _ingest(service, [])  # dbt's md5(email), sent without transformations
    with pytest.raises(ValidationError, match="reason"):
        edge_set_propagation(edge=edge, propagation=Propagation.MASKED, actor=steward)

    with django_capture_on_commit_callbacks(execute=True):
        edge = edge_set_propagation(
            edge=edge, propagation=Propagation.MASKED, actor=steward, reason="dbt model hashes it with md5"
        )

    assert edge.stops_propagation
    assert not _label_reaches_output(steward, edge, django_capture_on_commit_callbacks)
    event = AuditEvent.objects.get(action="lineage.edge.set_propagation")
    assert event.reason == "dbt model hashes it with md5" and event.details["to"] == "masked"


def test_the_marking_survives_a_producer_resending_the_edge(service, steward):
    edge = _ingest(service, [])
    edge_set_propagation(edge=edge, propagation=Propagation.MASKED, actor=steward, reason="md5")
    again = _ingest(service, [DIRECT])  # a changed edge: a new row, the steward's say carried over

    assert again.pk != edge.pk and again.propagation == Propagation.MASKED


def test_the_data_migration_recomputes_edges_stored_under_the_old_rule(service, steward, django_capture_on_commit_callbacks):
    edge = _ingest(service, [INDIRECT, DIRECT])
    # As the old code stored it: the first transformation's type, the list in details.
    Edge.objects.filter(pk=edge.pk).update(
        transformation_type="INDIRECT",
        transformation_subtype="CONDITION",
        transformations=[],
        details={"transformations": [INDIRECT, DIRECT]},
    )
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=Column.objects.get(pk=edge.src_id), entity_type="US_SSN", actor=steward)
    assert not Classification.objects.filter(column_id=edge.dst_id, source="propagated").exists()  # the old, unsafe answer

    migration = importlib.import_module("lineage.migrations.0004_recompute_edge_transformations")
    migration.recompute(django_apps, None)

    edge.refresh_from_db()
    assert (edge.transformation_type, edge.masking, edge.transformations, edge.details) == (
        "DIRECT",
        False,
        [INDIRECT, DIRECT],
        {},
    )
    assert Classification.objects.filter(column_id=edge.dst_id, entity_type="US_SSN", source="propagated").exists()


def test_summary_rule_in_isolation():
    assert summarise(normalise([INDIRECT, DIRECT_MASKED, DIRECT])).transformation_subtype == "IDENTITY"
    assert summarise(normalise(None, {"transformationType": "MASKED"})).masking is True

from audit.models import AuditEvent
from catalog import services as catalog
from lineage.choices import EdgeKind, NodeType
from lineage.graph import cache
from lineage.models import Edge
from lineage.services import anonymization_link
from tests.factories import AssetFactory, ColumnFactory


def test_anonymization_link_records_masking_edges_at_asset_and_column_level(db, steward):
    source = AssetFactory()
    ColumnFactory(asset=source, name="email")
    ColumnFactory(asset=source, name="age")
    target = AssetFactory()

    edges = anonymization_link(
        source_asset=source,
        target_asset=target,
        column_pairs=[("email", "email_masked"), ("age", "age_band")],
        actor=steward,
        run_details={"anonymization_run_id": 7, "operators": {"email": "mask", "age": "generalize"}},
    )

    assert {(e.src_type, e.dst_type) for e in edges} == {(NodeType.ASSET, NodeType.ASSET), (NodeType.COLUMN, NodeType.COLUMN)}
    assert len(edges) == 3
    assert all(e.kind == EdgeKind.ANONYMIZED and e.masking for e in edges)
    assert set(target.columns.values_list("name", flat=True)) == {"email_masked", "age_band"}
    event = AuditEvent.objects.get(action="lineage.anonymization.link")
    assert event.details["column_pairs"] == 2 and event.details["run"]["anonymization_run_id"] == 7
    with cache.reading() as graphs:
        assert graphs.assets.has_edge(f"asset:{source.pk}", f"asset:{target.pk}")
        email = source.columns.get(name="email")
        masked = target.columns.get(name="email_masked")
        assert graphs.columns[f"column:{email.pk}"][f"column:{masked.pk}"]["stop"] is True


def test_anonymization_link_is_idempotent(db, steward):
    source = AssetFactory()
    ColumnFactory(asset=source, name="email")
    target = AssetFactory()
    for _ in range(2):
        anonymization_link(
            source_asset=source, target_asset=target, column_pairs=[("email", "email")], actor=steward, run_details={}
        )
    assert Edge.objects.filter(valid_to__isnull=True).count() == 2


def test_propagation_stops_at_an_anonymization_edge(db, steward, django_capture_on_commit_callbacks):
    source = AssetFactory()
    email = ColumnFactory(asset=source, name="email")
    target = AssetFactory()
    with django_capture_on_commit_callbacks(execute=True):
        anonymization_link(
            source_asset=source, target_asset=target, column_pairs=[("email", "email")], actor=steward, run_details={}
        )
    with django_capture_on_commit_callbacks(execute=True):
        catalog.classification_assign(column=email, entity_type="EMAIL_ADDRESS", actor=steward)
    assert not target.columns.get(name="email").classifications.exists()

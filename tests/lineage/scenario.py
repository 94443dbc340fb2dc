"""A small warehouse fed through the real intake service:

raw.customers(email, name, country) --load--> staging.customers (identity)
staging.customers --features--> mart.features (email_hash: masked; name, country: identity)
staging.customers --export--> export.copy (email: identity)
mart.features --train--> model churn@1 (production)
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Column, DataAsset, ModelVersion
from lineage.openlineage import event_ingest
from tests.lineage.helpers import dataset, facet, run_event


@dataclass
class Warehouse:
    raw: DataAsset
    staging: DataAsset
    mart: DataAsset
    export: DataAsset
    model_version: ModelVersion

    def col(self, asset: DataAsset, name: str) -> Column:
        return asset.columns.get(name=name)


def build(actor, capture) -> Warehouse:
    raw = dataset("raw.customers", columns=["email", "name", "country"])
    staging = dataset(
        "staging.customers",
        lineage={c: [("raw.customers", c, False, "IDENTITY")] for c in ("email", "name", "country")},
    )
    mart = dataset(
        "mart.features",
        lineage={
            "email_hash": [("staging.customers", "email", True, "TRANSFORMATION")],
            "name": [("staging.customers", "name", False, "IDENTITY")],
            "country": [("staging.customers", "country", False, "IDENTITY")],
        },
    )
    export = dataset("export.copy", lineage={"email": [("staging.customers", "email", False, "IDENTITY")]})
    model = {
        "namespace": "mlflow://registry",
        "name": "churn/1",
        "facets": {"custosModel": facet(model="churn", version="1", stage="production")},
    }
    events = [
        run_event("load", [raw], [staging], time="2025-01-01T01:00:00Z"),
        run_event("features", [dataset("staging.customers")], [mart], time="2025-01-01T02:00:00Z"),
        run_event("export", [dataset("staging.customers")], [export], time="2025-01-01T03:00:00Z"),
        run_event("train", [dataset("mart.features")], [model], time="2025-01-01T04:00:00Z"),
    ]
    with capture(execute=True):
        for event in events:
            event_ingest(payload=event, actor=actor)
    get = lambda name: DataAsset.objects.get(qualified_name=name)  # noqa: E731
    return Warehouse(
        raw=get("raw.customers"),
        staging=get("staging.customers"),
        mart=get("mart.features"),
        export=get("export.copy"),
        model_version=ModelVersion.objects.get(model__name="churn", version="1"),
    )

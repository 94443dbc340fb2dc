"""Section ``evidence/art30.json`` (and ``art30.csv``): the GDPR Art. 30(1) record of processing
activities, one per asset holding personal data, with the fields left empty named as gaps."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from catalog.choices import LegalBasis
from compliance.evidence.collect.snapshot import Snapshot, iso

ART30_FIELDS = {
    "a": "Name and contact details of the controller",
    "b": "Purposes of the processing",
    "c": "Categories of data subjects and of personal data",
    "d": "Categories of recipients",
    "e": "Transfers to third countries and safeguards",
    "f": "Time limits for erasure",
    "g": "Technical and organisational security measures",
}


def art30(snap: Snapshot) -> dict[str, Any]:
    """The GDPR Art. 30(1) record of processing activities: one activity per asset holding personal
    data, fields (a)-(g), and the gaps (fields with nothing recorded)."""
    controller = getattr(settings, "CUSTOS_CONTROLLER", "") or "(controller identity not configured in Custos: CUSTOS_CONTROLLER)"
    records = []
    for asset_id in sorted(snap.assets, key=lambda a: snap.asset_name(a)):
        entity_types = snap.entity_types.get(asset_id, set())
        if not entity_types or not snap.in_scope(asset_id):
            continue
        if not snap.categories_of(entity_types, "gdpr") and snap.scope.regulation not in ("", "gdpr"):
            continue
        a = snap.assets[asset_id]
        contacts = sorted(set(snap.people.get(asset_id, [])) | set(snap.stewards.get(asset_id, [])))
        measures = [f"sensitivity: {a['sensitivity']}"]
        measures += [
            f"{kind} policy: {p['name']} (v{p['version']})"
            for kind in ("access", "anonymization", "retention")
            for p in snap.policies_for(asset_id, kind)
        ]
        if a["storage_country"]:
            measures.append(f"stored in {a['storage_country']}")
        transfers = [
            f"{t.get('country')}: {t.get('safeguard') or 'NO SAFEGUARD RECORDED'}" for t in a["international_transfers"] or []
        ]
        record = {
            "activity_id": asset_id,
            "activity": snap.asset_name(asset_id),
            "a_controller": controller,
            "a_contacts": contacts,
            "b_purposes": list(a["processing_purposes"] or []),
            "b_legal_basis": a["legal_basis"] or "",
            "b_legal_basis_label": LegalBasis(a["legal_basis"]).label if a["legal_basis"] in LegalBasis.values else "",
            "c_data_subject_categories": list(a["data_subject_categories"] or []),
            "c_personal_data_categories": snap.categories_of(entity_types, "gdpr"),
            "c_personal_data_category_names": snap.labels(snap.categories_of(entity_types, "gdpr")),
            "c_entity_types": sorted(entity_types),
            "d_recipients": list(a["recipients"] or []),
            "e_transfers": transfers,
            "f_retention_days": a["retention_days"],
            "f_retention_policies": [p["name"] for p in snap.policies_for(asset_id, "retention")],
            "g_security_measures": measures,
            "recorded_since": iso(a["_changed_at"]),
        }
        gaps = []
        for key, label in (
            ("b_purposes", "(b) purposes"),
            ("b_legal_basis", "(b) lawful basis"),
            ("c_data_subject_categories", "(c) data subject categories"),
            ("d_recipients", "(d) recipients"),
        ):
            if not record[key]:
                gaps.append(label)
        if record["f_retention_days"] is None:
            gaps.append("(f) time limit for erasure")
        if any("NO SAFEGUARD" in t for t in transfers):
            gaps.append("(e) transfer safeguard")
        record["gaps"] = gaps
        records.append(record)
    return {"view": snap.scope.view_label(), "fields": ART30_FIELDS, "records": records}


ART30_CSV_COLUMNS = [
    "activity_id",
    "activity",
    "a_controller",
    "a_contacts",
    "b_purposes",
    "b_legal_basis",
    "c_data_subject_categories",
    "c_personal_data_categories",
    "c_entity_types",
    "d_recipients",
    "e_transfers",
    "f_retention_days",
    "f_retention_policies",
    "g_security_measures",
    "gaps",
    "recorded_since",
]

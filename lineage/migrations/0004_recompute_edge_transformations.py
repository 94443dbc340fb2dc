"""Recompute column edges stored under the old rule (issue 14).

Before: an edge took the type of the *first* transformation listed and counted as masking if
*any* transformation masked, and kept the list only when it held more than one. Now: every
transformation is kept in ``Edge.transformations`` and the edge carries PII when any DIRECT
transformation does not mask (``lineage.transformations``; the rule is copied here so this
migration never changes with the app code). Rows are corrected in place (the interpretation
changed, not what the producer asserted), get a new graph version so every process's cache
reloads them, and PII propagation is recomputed from the source columns of changed current edges.
"""

from django.db import migrations

INDIRECT = "INDIRECT"


def _normalise(transformations):
    return [
        {
            "type": str(t.get("type") or ""),
            "subtype": str(t.get("subtype") or ""),
            "description": str(t.get("description") or ""),
            "masking": t.get("masking") is True,
        }
        for t in transformations
        if isinstance(t, dict)
    ]


def _summary(transformations):
    if not transformations:
        return ("", "", "", False)
    direct = [t for t in transformations if t["type"].upper() != INDIRECT]
    if not direct:
        return (INDIRECT, transformations[0]["subtype"], transformations[0]["description"], False)
    unmasked = [t for t in direct if not t["masking"]]
    rep = unmasked[0] if unmasked else direct[0]
    return (rep["type"], rep["subtype"], rep["description"], not unmasked)


def recompute(apps, schema_editor):
    Edge = apps.get_model("lineage", "Edge")
    GraphState = apps.get_model("lineage", "GraphState")
    rows = Edge.objects.filter(kind__in=["derives", "anonymized"], src_type="column")
    if not rows.exists():
        return
    state = GraphState.objects.filter(pk=1).first()
    version = (state.version if state else 0) + 1
    changed_sources = set()
    for edge in rows.iterator(chunk_size=2000):
        details = dict(edge.details or {})
        listed = details.pop("transformations", None) if edge.kind == "derives" else None
        if isinstance(listed, list):
            transformations = _normalise(listed)
        elif edge.transformation_type:
            kind = edge.transformation_type
            transformations = [
                {
                    "type": kind,
                    "subtype": edge.transformation_subtype,
                    "description": edge.description,
                    "masking": edge.masking or kind.upper() == "MASKED",
                }
            ]
        else:
            transformations = []
        summary = _summary(transformations)
        before = (edge.transformation_type, edge.transformation_subtype, edge.description, edge.masking)
        stops_before = before[3] or before[0].upper() == INDIRECT
        stops_after = summary[3] or summary[0].upper() == INDIRECT
        if edge.kind == "anonymized":
            summary = before  # anonymization edges always mask; only their list is filled in
            stops_after = stops_before
        if summary == before and transformations == edge.transformations and details == (edge.details or {}):
            continue
        edge.transformation_type, edge.transformation_subtype, edge.description, edge.masking = summary
        edge.transformations = transformations
        edge.details = details
        if stops_after != stops_before:
            edge.changed_version = version
            if edge.valid_to is None:
                changed_sources.add(edge.src_id)
        edge.save(
            update_fields=[
                "transformation_type",
                "transformation_subtype",
                "description",
                "masking",
                "transformations",
                "details",
                "changed_version",
            ]
        )
    if state is not None:
        GraphState.objects.filter(pk=1).update(version=version)
    if changed_sources:
        # Labels downstream follow the corrected edges (the app's propagation, run once here).
        from lineage.graph import cache
        from lineage.propagation import propagation_recompute

        cache.reset()
        propagation_recompute(column_ids=changed_sources)


class Migration(migrations.Migration):
    dependencies = [("lineage", "0003_edge_transformations")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]

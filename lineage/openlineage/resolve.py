"""OpenLineage datasets and jobs -> catalog assets and lineage jobs, through the intake's caches.

A dataset identifier resolves, in this order, to the asset an alias names (``DatasetAlias``,
from ``symlinks`` facets), to the asset registered under it, or -- when it is new and one of the
``symlinks`` identifiers it carries already names an asset -- to that asset (the new identifier
becomes its alias); only otherwise is a new asset registered.
"""

from __future__ import annotations

from catalog import services as catalog
from catalog.choices import AssetKind, SourceKind
from catalog.models import DataAsset
from lineage.models import DatasetAlias, Job
from lineage.openlineage.context import EventStats, Intake

SCHEME_KINDS = {
    "postgres": SourceKind.POSTGRESQL,
    "postgresql": SourceKind.POSTGRESQL,
    "mysql": SourceKind.MYSQL,
    "sqlite": SourceKind.SQLITE,
    "snowflake": SourceKind.SNOWFLAKE,
    "bigquery": SourceKind.BIGQUERY,
    "s3": SourceKind.OBJECT_STORE,
    "s3a": SourceKind.OBJECT_STORE,
    "gs": SourceKind.OBJECT_STORE,
    "abfss": SourceKind.OBJECT_STORE,
    "wasbs": SourceKind.OBJECT_STORE,
    "file": SourceKind.FILE_SHARE,
    "hdfs": SourceKind.FILE_SHARE,
    "kafka": SourceKind.KAFKA,
}
ASSET_KINDS = {SourceKind.KAFKA: AssetKind.STREAM, SourceKind.OBJECT_STORE: AssetKind.FILE, SourceKind.FILE_SHARE: AssetKind.FILE}


def source_kind_for(namespace: str) -> str:
    """The catalog source kind an OpenLineage namespace's scheme names (``OTHER`` if unknown)."""
    scheme = namespace.split("://", 1)[0].lower() if "://" in namespace else namespace.split(":", 1)[0].lower()
    return SCHEME_KINDS.get(scheme, SourceKind.OTHER)


def symlink_identifiers(facets: dict | None) -> list[tuple[str, str, str]]:
    """The ``(namespace, name, type)`` identifiers of a dataset's ``symlinks`` facet (validated)."""
    facet = (facets or {}).get("symlinks")
    if not isinstance(facet, dict) or facet.get("_deleted"):
        return []
    return [(i["namespace"], i["name"], str(i.get("type", ""))) for i in facet.get("identifiers") or []]


def known_asset(namespace: str, name: str) -> int | None:
    """The asset an identifier names, through an alias or directly (no registration)."""
    alias = DatasetAlias.objects.filter(namespace=namespace, name=name).values_list("asset_id", flat=True).first()
    if alias is not None:
        return alias
    return DataAsset.objects.filter(source__namespace=namespace, qualified_name=name).values_list("pk", flat=True).first()


def known_assets(keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """:func:`known_asset` for many identifiers at once (two queries): identifier -> asset id,
    for those that name one (an alias first, as there)."""
    if not keys:
        return {}
    wanted = set(keys)
    namespaces, names = sorted({ns for ns, _ in wanted}), sorted({n for _, n in wanted})
    found: dict[tuple[str, str], int] = {}
    for namespace, name, asset_id in DataAsset.objects.filter(
        source__namespace__in=namespaces, qualified_name__in=names
    ).values_list("source__namespace", "qualified_name", "pk"):
        if (namespace, name) in wanted:
            found[(namespace, name)] = asset_id
    for namespace, name, asset_id in DatasetAlias.objects.filter(namespace__in=namespaces, name__in=names).values_list(
        "namespace", "name", "asset_id"
    ):
        if (namespace, name) in wanted:
            found[(namespace, name)] = asset_id  # an alias wins, as in known_asset
    return found


def asset_for(intake: Intake, namespace: str, name: str, *, stats: EventStats, facets: dict | None = None) -> int:
    """The catalog asset id for an OpenLineage dataset, registering source and asset if unknown.

    ``facets``: the dataset's facets, whose ``symlinks`` identifiers may name the asset already."""
    cached = intake.cached("asset", (namespace, name))
    if cached is not None:
        return cached
    symlinks = symlink_identifiers(facets)
    found = known_asset(namespace, name)
    if found is None and symlinks:
        for other_ns, other_name, kind in symlinks:
            found = intake.cached("asset", (other_ns, other_name)) or known_asset(other_ns, other_name)
            if found is not None:
                DatasetAlias.objects.create(namespace=namespace, name=name, asset_id=found, kind=kind, producer=stats.producer)
                stats.aliases_created += 1
                break
    if found is not None:
        intake.remember("asset", (namespace, name), found)
        return found
    kind = source_kind_for(namespace)
    source = catalog.source_ensure(namespace=namespace, actor=intake.actor, kind=kind)
    asset, created = catalog.asset_ensure(
        source=source, qualified_name=name, actor=intake.actor, kind=ASSET_KINDS.get(kind, AssetKind.TABLE)
    )
    stats.datasets_registered += int(created)
    intake.remember("asset", (namespace, name), asset.pk)
    return asset.pk


def aliases_ensure(intake: Intake, asset_id: int, identifiers: list[tuple[str, str, str]], *, stats: EventStats) -> None:
    """Make each ``symlinks`` identifier an alias of ``asset_id`` unless it already names an asset
    (its own, or another through an alias): two assets that both exist are never merged
    (counted in ``stats.alias_conflicts``)."""
    for namespace, name, kind in identifiers:
        found = intake.cached("asset", (namespace, name)) or known_asset(namespace, name)
        if found == asset_id:
            continue
        if found is not None:
            stats.alias_conflicts += 1
            continue
        DatasetAlias.objects.create(namespace=namespace, name=name, asset_id=asset_id, kind=kind, producer=stats.producer)
        stats.aliases_created += 1
        intake.remember("asset", (namespace, name), asset_id)


def job_for(intake: Intake, namespace: str, name: str) -> Job:
    """The lineage job ``namespace:name``, created if unknown (in a batch's fast path, the row it
    read for the whole batch, kept current by the events)."""
    held = intake.batch.jobs if intake.batch is not None else None
    if held is not None and (namespace, name) in held:
        return held[(namespace, name)]
    job = None
    job_id = intake.cached("job", (namespace, name))
    if job_id is not None:
        job = Job.objects.filter(pk=job_id).first()
    if job is None:
        job, _ = Job.objects.get_or_create(namespace=namespace, name=name)
        intake.remember("job", (namespace, name), job.pk)
    if held is not None:
        held[(namespace, name)] = job
    return job

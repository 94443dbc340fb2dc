"""OpenLineage datasets and jobs -> catalog assets and lineage jobs, through the intake's caches."""

from __future__ import annotations

from catalog import services as catalog
from catalog.choices import AssetKind, SourceKind
from lineage.models import Job
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


def asset_for(intake: Intake, namespace: str, name: str, *, stats: EventStats) -> int:
    """The catalog asset id for an OpenLineage dataset, registering source and asset if unknown."""
    cached = intake.cached("asset", (namespace, name))
    if cached is not None:
        return cached
    kind = source_kind_for(namespace)
    source = catalog.source_ensure(namespace=namespace, actor=intake.actor, kind=kind)
    asset, created = catalog.asset_ensure(
        source=source, qualified_name=name, actor=intake.actor, kind=ASSET_KINDS.get(kind, AssetKind.TABLE)
    )
    stats.datasets_registered += int(created)
    intake.remember("asset", (namespace, name), asset.pk)
    return asset.pk


def job_for(intake: Intake, namespace: str, name: str) -> Job:
    """The lineage job ``namespace:name``, created if unknown."""
    job_id = intake.cached("job", (namespace, name))
    if job_id is not None:
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            return job
    job, _ = Job.objects.get_or_create(namespace=namespace, name=name)
    intake.remember("job", (namespace, name), job.pk)
    return job

"""Anonymization runs: one service for every entry point (API, ``manage.py anonymize``, task).

* ``anonymization_start`` queues a run on a cataloged asset (API; the Celery task
  ``policies.anonymization_execute`` does the work after commit);
* ``anonymization_run`` creates and executes a run now (command line, tests);
* ``anonymization_execute`` is the work itself, whoever calls it.

Every one takes ``actor`` and needs ``decide`` (stewards, admins; a ``str`` actor is a system
component, see ``accounts.permissions``). Where data is read from and written to is decided by
:mod:`compliance.datasets` alone: the source and the output are resolved there when the run is
created and again right before the work, so an output naming the app's own database (``--out
sqlite:///<app db>#audit_ledgerentry``, defect 14) or a file outside the data roots is refused
before anything is opened. A cataloged asset's classifications (by column identity and every
name the column has had, :func:`compliance.access.masking.classified_columns`) feed the column plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.permissions import DECIDE, require
from audit.services import record
from catalog.models import DataAsset
from compliance import datasets
from compliance.access.masking import classified_columns
from compliance.anonymization.outputs import register_output
from compliance.policies import anonymizer, keys, operators, profiles
from compliance.policies.choices import PolicyKind
from compliance.policies.models import AnonymizationRun, Policy
from core.choices import RunStatus
from core.types import Actor

WHAT = "anonymization runs (a steward decision)"


def anonymization_profile(name: str) -> tuple[dict[str, Any], Policy | None]:
    """A profile from a built-in profile name or the name of an anonymization policy."""
    if name in profiles.BUILTIN_PROFILES:
        return profiles.resolve({"profile": name}), None
    policy = Policy.objects.filter(name=name, kind=PolicyKind.ANONYMIZATION).first()
    if policy is None:
        raise ValidationError(
            {"policy": f"unknown policy: use {', '.join(sorted(profiles.BUILTIN_PROFILES))} or an anonymization policy's name"}
        )
    profile = profiles.resolve(policy.config)
    profile["name"] = policy.name
    return profile, policy


def location_string(loc: datasets.Location) -> str:
    """The string the anonymizer opens for a checked location (never a DSN with its secret)."""
    if loc.kind == "file":
        return str(loc.path)
    if loc.source is not None:
        return f"source:{loc.source}#{loc.table}"
    return f"sqlite:///{loc.path}#{loc.table}"


def _source(source_asset: DataAsset | None, source_path: str | Path | None) -> str:
    if source_asset is not None:
        loc = datasets.resolve_asset(source_asset)
    elif source_path is None:
        raise ValidationError("give source_asset or source_path")
    else:
        loc = datasets.resolve(str(source_path))
    if loc.kind == "file" and not Path(loc.path).is_file():
        raise ValidationError({"source": f"{Path(loc.path).name}: no such file"})
    return location_string(loc)


def _output(output_path: str | Path) -> str:
    loc = datasets.resolve_output(str(output_path))
    if loc.kind == "postgresql" or loc.source is not None:
        raise datasets.LocationRefused("outputs are files or SQLite tables inside the data roots")
    return location_string(loc)


def default_output(asset: DataAsset, policy: str) -> Path:
    """``<VAR_DIR>/anonymized/<asset id>/<asset name>__<policy><suffix>`` (Parquet for a table)."""
    loc = datasets.resolve_asset(asset)
    suffix = ".parquet" if loc.is_table else ("".join(Path(loc.path).suffixes) or ".csv")
    return Path(settings.VAR_DIR) / "anonymized" / str(asset.pk) / f"{asset.name}__{policy}{suffix}"


def check_locations(
    *, output_path: str | Path, source_asset: DataAsset | None = None, source_path: str | Path | None = None
) -> tuple[str, str]:
    """(source, output) as the anonymizer opens them, after the datasets rule accepted both;
    ``LocationRefused`` (a ``ValidationError`` naming the rule, never the place) otherwise."""
    dst = _output(output_path)
    src = _source(source_asset, source_path)
    if src == dst:
        raise ValidationError({"output_path": "the output must not overwrite the input"})
    return src, dst


def _run_create(*, actor, policy: str, source_asset, source_path, output_path, status: str) -> AnonymizationRun:
    profile, policy_obj = anonymization_profile(policy)
    src, dst = check_locations(output_path=output_path, source_asset=source_asset, source_path=source_path)
    with transaction.atomic():
        run = AnonymizationRun(
            source_asset=source_asset,
            policy=policy_obj,
            profile=profile["name"],
            source_path=src,
            output_path=dst,
            status=status,
            started_by=actor if getattr(actor, "pk", None) else None,
            started_at=timezone.now(),
        )
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="policies.anonymization.start",
            target=run,
            details={"profile": run.profile, "source_asset_id": getattr(source_asset, "pk", None)},
        )
    return run


def anonymization_start(
    *, actor: Actor | str, policy: str, source_asset: DataAsset, output_path: str | Path | None = None
) -> AnonymizationRun:
    """Queue the anonymization of a cataloged asset: a ``queued`` run row now, the work on a Celery
    worker after commit (``tasks.anonymization_execute``). Poll the run for its report."""
    require(actor, DECIDE, WHAT)
    if output_path is None:
        # Custos's own choice under VAR_DIR: made here, so every caller (API, task, admin) can omit it.
        output_path = default_output(source_asset, policy)
        output_path.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        run = _run_create(
            actor=actor,
            policy=policy,
            source_asset=source_asset,
            source_path=None,
            output_path=output_path,
            status=RunStatus.QUEUED,
        )
        from compliance.policies import tasks

        user_id = getattr(actor, "pk", None)
        transaction.on_commit(lambda: tasks.anonymization_execute.delay(run.pk, user_id))
    return run


def anonymization_run(
    *,
    actor: Actor | str,
    policy: str,
    output_path: str | Path,
    source_asset: DataAsset | None = None,
    source_path: str | Path | None = None,
    register: bool = True,
    chunk_rows: int = 100_000,
) -> AnonymizationRun:
    """Anonymize a cataloged asset (or a location) into ``output_path`` now; see the module doc.
    For an asset the output is registered as a new asset linked by an anonymizing lineage edge."""
    require(actor, DECIDE, WHAT)
    run = _run_create(
        actor=actor,
        policy=policy,
        source_asset=source_asset,
        source_path=source_path,
        output_path=output_path,
        status=RunStatus.RUNNING,
    )
    return anonymization_execute(run=run, actor=actor, register=register, chunk_rows=chunk_rows)


def _fail(run: AnonymizationRun, actor, exc: Exception, *, known: bool) -> None:
    with transaction.atomic():
        run.status, run.finished_at = RunStatus.FAILED, timezone.now()
        run.error = "; ".join(getattr(exc, "messages", None) or [str(exc)]) if known else f"internal error ({type(exc).__name__})"
        run.save()
        record(actor=actor, action="policies.anonymization.fail", target=run, details={"error": type(exc).__name__})


def anonymization_execute(
    *, run: AnonymizationRun, actor: Actor | str, register: bool = True, chunk_rows: int = 100_000
) -> AnonymizationRun:
    """Do the work of a created run: write the output, verify it, register it (audited as
    ``policies.anonymization.finish`` or ``.fail``; a refused actor fails the run too). A finished
    run is returned unchanged."""
    if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        return run  # a redelivered task
    try:
        require(actor, DECIDE, WHAT)
    except PermissionDenied as exc:
        _fail(run, actor, exc, known=True)
        raise
    profile, _ = anonymization_profile(run.policy.name if run.policy_id else run.profile)
    source_asset = run.source_asset
    classifications = {c: sorted(es) for c, es in classified_columns(source_asset).items()} if source_asset is not None else None
    if run.status != RunStatus.RUNNING:
        AnonymizationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
        run.status = RunStatus.RUNNING
    try:
        # The rule again, right before anything is opened: the settings or the files may have changed.
        src, dst = _source(None, run.source_path), _output(run.output_path)
        report = anonymizer.anonymize_file(
            src if anonymizer.is_table(src) else Path(src),
            dst if anonymizer.is_table(dst) else Path(dst),
            profile=profile,
            classifications=classifications,
            chunk_rows=chunk_rows,
        )
    except Exception as exc:
        known = isinstance(exc, ValidationError | anonymizer.AnonymizeError | operators.OperatorError | keys.KeyError_)
        _fail(run, actor, exc, known=known)
        if isinstance(exc, ValidationError):
            raise
        if known:
            raise ValidationError({"source": str(exc)}) from exc
        raise
    with transaction.atomic():
        run.report = report.as_dict()
        run.rows = report.rows
        run.status = RunStatus.SUCCEEDED
        run.finished_at = timezone.now()
        if register and source_asset is not None:
            run.target_asset = register_output(run, source_asset, report, actor)
        run.full_clean()
        run.save()
        record(
            actor=actor,
            action="policies.anonymization.finish",
            target=run,
            details={
                "rows": report.rows,
                "passed": report.passed,
                "target_asset_id": run.target_asset_id,
                "operators": {c["name"]: c["operator"] for c in report.columns},
                "values_found_in_output": report.identifier_check.get("values_found_in_output"),
                "k": report.k_anonymity.get("k"),
            },
        )
    return run

"""Vocabularies of the lineage graph. Stored values are contracts: never rename one."""

from django.db import models


class NodeType(models.TextChoices):
    """What a graph node stands for; the node key is ``"<type>:<id>"`` (``asset:12``, ``run:<uuid>``)."""

    ASSET = "asset", "Data asset"
    COLUMN = "column", "Column"
    JOB = "job", "Job"
    RUN = "run", "Run"
    MODEL_VERSION = "model_version", "Model version"


class EdgeKind(models.TextChoices):
    """Edges point the way data flows: source -> job -> output, input column -> derived column."""

    CONSUMES = "consumes", "Consumed by job (asset -> job)"
    PRODUCES = "produces", "Produced by job (job -> asset)"
    DERIVES = "derives", "Column derivation (column -> column)"
    TRAINED_ON = "trained_on", "Training data (asset -> model version)"
    EVALUATED_ON = "evaluated_on", "Evaluation data (asset -> model version)"
    ANONYMIZED = "anonymized", "Derived by anonymization (asset -> asset, column -> column)"


ASSET_LEVEL_KINDS = frozenset({EdgeKind.CONSUMES, EdgeKind.PRODUCES, EdgeKind.TRAINED_ON, EdgeKind.EVALUATED_ON})


# OpenLineage transformation type of an input that affects the output without its value flowing
# into it (filter, join key, group by, sort, window, conditional): PII propagation stops there.
INDIRECT = "INDIRECT"


class Propagation(models.TextChoices):
    """A steward's say over one edge: ``auto`` stops at masking, anonymizing and INDIRECT edges,
    ``block``/``allow`` override it; ``masked`` records a steward's finding that the edge masks
    (e.g. ``md5(email)`` sent with no transformations) and stops like ``block``."""

    AUTO = "auto", "Automatic (stop at masking)"
    BLOCK = "block", "Blocked by a steward"
    ALLOW = "allow", "Allowed by a steward"
    MASKED = "masked", "Marked masking by a steward"


class EventKind(models.TextChoices):
    RUN = "run", "RunEvent"
    DATASET = "dataset", "DatasetEvent"
    JOB = "job", "JobEvent"


class RunState(models.TextChoices):
    """OpenLineage run states (``eventType``); OTHER when an event carries none."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"


TERMINAL_STATES = frozenset({RunState.COMPLETE, RunState.ABORT, RunState.FAIL})

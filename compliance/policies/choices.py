"""Vocabularies of regulation packs and policies. Stored values are contracts: never rename one."""

from django.db import models


class Regulation(models.TextChoices):
    GDPR = "gdpr", "GDPR"
    HIPAA = "hipaa", "HIPAA"
    CCPA = "ccpa", "CCPA/CPRA"


class Severity(models.TextChoices):
    """Ordered from least to most severe; ``SEVERITY_RANK`` gives the order."""

    INFO = "info", "Info"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class PolicyKind(models.TextChoices):
    RETENTION = "retention", "Retention"
    ANONYMIZATION = "anonymization", "Anonymization"
    ACCESS = "access", "Access"


class RetentionAction(models.TextChoices):
    DELETE_ROWS = "delete_rows", "Delete expired rows"
    ANONYMIZE_ROWS = "anonymize_rows", "Anonymize expired rows"
    ARCHIVE = "archive", "Archive expired rows"
    FLAG = "flag", "Flag only"


DESTRUCTIVE_ACTIONS = frozenset({RetentionAction.DELETE_ROWS, RetentionAction.ANONYMIZE_ROWS, RetentionAction.ARCHIVE})


class Effect(models.TextChoices):
    """An access decision, from most to least permissive."""

    ALLOW = "allow", "Allow"
    ALLOW_MASKED = "allow_masked", "Allow, identifiers masked"
    DENY = "deny", "Deny"


EFFECT_RANK = {Effect.ALLOW: 0, Effect.ALLOW_MASKED: 1, Effect.DENY: 2}


class Purpose(models.TextChoices):
    """Why data is read. Access requests must name one; GDPR Art. 5(1)(b) purpose limitation."""

    TREATMENT = "treatment", "Treatment / service delivery"
    OPERATIONS = "operations", "Operations"
    ANALYTICS = "analytics", "Analytics"
    MODEL_TRAINING = "model_training", "Model training"
    RESEARCH = "research", "Research"
    AUDIT = "audit", "Audit and compliance"
    SUPPORT = "support", "Customer support"
    MARKETING = "marketing", "Marketing"


class GrantState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Revoked"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"

"""Vocabularies of the catalog. Stored values are contracts: never rename one."""

from django.db import models


class SourceKind(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL database"
    MYSQL = "mysql", "MySQL/MariaDB database"
    SQLITE = "sqlite", "SQLite database"
    SNOWFLAKE = "snowflake", "Snowflake"
    BIGQUERY = "bigquery", "BigQuery"
    OBJECT_STORE = "object_store", "Object-store bucket"
    FILE_SHARE = "file_share", "File share"
    KAFKA = "kafka", "Kafka topic(s)"
    ML_PLATFORM = "ml_platform", "ML platform / model registry"
    OTHER = "other", "Other"


class AssetKind(models.TextChoices):
    TABLE = "table", "Table"
    VIEW = "view", "View"
    FILE = "file", "File"
    STREAM = "stream", "Stream"
    FEATURE_SET = "feature_set", "Feature set"


class AssetStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    DELETED = "deleted", "Deleted"


class Sensitivity(models.TextChoices):
    """Ordered from least to most sensitive; ``RANK`` gives the order."""

    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


SENSITIVITY_RANK = {Sensitivity.PUBLIC: 0, Sensitivity.INTERNAL: 1, Sensitivity.CONFIDENTIAL: 2, Sensitivity.RESTRICTED: 3}


class ClassificationSource(models.TextChoices):
    SCAN = "scan", "PII scan"
    STEWARD = "steward", "Steward"
    PROPAGATED = "propagated", "Propagated through lineage"
    IMPORTED = "imported", "Imported"


class ClassificationState(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


class EntityType(models.TextChoices):
    """PII entity types (Presidio's names where Presidio has one). Open set: more may be added."""

    PERSON = "PERSON"
    EMAIL_ADDRESS = "EMAIL_ADDRESS"
    PHONE_NUMBER = "PHONE_NUMBER"
    US_SSN = "US_SSN"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN_CODE = "IBAN_CODE"
    IP_ADDRESS = "IP_ADDRESS"
    URL = "URL"
    LOCATION = "LOCATION"
    DATE_TIME = "DATE_TIME"
    US_DRIVER_LICENSE = "US_DRIVER_LICENSE"
    US_PASSPORT = "US_PASSPORT"
    US_BANK_NUMBER = "US_BANK_NUMBER"
    MEDICAL_LICENSE = "MEDICAL_LICENSE"
    NRP = "NRP"
    UK_NHS = "UK_NHS"
    US_ZIP_CODE = "US_ZIP_CODE"
    MEDICAL_RECORD_NUMBER = "MEDICAL_RECORD_NUMBER"
    US_NPI = "US_NPI"
    # Special categories a steward may record by hand (GDPR Art. 9/10, HIPAA PHI).
    HEALTH_DATA = "HEALTH_DATA"
    BIOMETRIC = "BIOMETRIC"
    GENETIC = "GENETIC"
    CRIMINAL_RECORD = "CRIMINAL_RECORD"
    AGE = "AGE"
    GENDER = "GENDER"


class ModelTask(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"
    RANKING = "ranking", "Ranking"
    CLUSTERING = "clustering", "Clustering"
    FORECASTING = "forecasting", "Forecasting"
    GENERATION = "generation", "Generation"
    OTHER = "other", "Other"


class ModelStage(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class LegalBasis(models.TextChoices):
    """GDPR Art. 6(1) lawful bases."""

    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art. 6(1)(e))"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art. 6(1)(f))"

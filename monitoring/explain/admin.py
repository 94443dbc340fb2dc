"""Artifacts, explanations and fairness assessments are evidence: shown, never edited here (writes go
through monitoring.explain.services, which audit them)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Explanation, FairnessAssessment, ModelArtifact


@admin.register(ModelArtifact)
class ModelArtifactAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "format", "sha256", "size", "trusted", "source", "created_at"]
    list_filter = ["format", "trusted", "source"]
    search_fields = ["sha256"]


@admin.register(Explanation)
class ExplanationAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "explainer", "sample_size", "max_abs_residual", "created_at"]
    list_filter = ["explainer", "scope"]


@admin.register(FairnessAssessment)
class FairnessAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "attributes", "n", "flagged", "created_at"]
    list_filter = ["flagged"]

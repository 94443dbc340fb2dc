"""Artifacts, explanations and fairness assessments are evidence: shown, never edited here (writes go
through monitoring.explain.services, which audit them). One action: an admin marks a pickle/joblib
artifact trusted, with a reason (``services.artifact_mark_trusted``, audited as explain.artifact_trust)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin, service_action
from core.permissions import ADMINISTER

from . import services
from .models import Explanation, FairnessAssessment, ModelArtifact


@admin.register(ModelArtifact)
class ModelArtifactAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "format", "sha256", "size", "trusted", "source", "created_at"]
    list_filter = ["format", "trusted", "source"]
    search_fields = ["sha256"]
    actions = ["mark_trusted"]

    @service_action(
        description="Mark the selected pickle/joblib artifacts trusted",
        permissions=[ADMINISTER],
        warning="A trusted pickle is unpickled when it is loaded: it can run any code it holds. "
        "Trust only bytes you built or verified yourself.",
        summary=lambda a: f"{a.format}, sha256 {a.sha256[:12]}..., " + ("already trusted" if a.trusted else "not trusted"),
    )
    def mark_trusted(self, request, artifact, *, reason):
        if artifact.trusted:
            return False  # unchanged
        services.artifact_mark_trusted(actor=request.user, artifact=artifact, reason=reason)
        return True


@admin.register(Explanation)
class ExplanationAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "explainer", "sample_size", "max_abs_residual", "created_at"]
    list_filter = ["explainer", "scope"]


@admin.register(FairnessAssessment)
class FairnessAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_version", "attributes", "n", "flagged", "created_at"]
    list_filter = ["flagged"]

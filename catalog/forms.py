"""Forms for admin bulk actions."""

from django import forms
from django.contrib.auth import get_user_model

from catalog.choices import Sensitivity


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True), help_text="Added to each selected asset's owners."
    )
    reason = forms.CharField(required=False, help_text="Recorded in the audit ledger (adding yourself is a steward decision).")


class SetSensitivityForm(forms.Form):
    sensitivity = forms.ChoiceField(choices=Sensitivity.choices)
    reason = forms.CharField(required=False, help_text="Recorded in the audit ledger (lowering is a steward decision).")

"""Forms for admin bulk actions."""

from django import forms
from django.contrib.auth import get_user_model

from catalog.choices import Sensitivity


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True), help_text="Added to each selected asset's owners."
    )


class SetSensitivityForm(forms.Form):
    sensitivity = forms.ChoiceField(choices=Sensitivity.choices)

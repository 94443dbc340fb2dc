"""Forms for admin bulk actions and the asset page's in-place edits.

Page forms only parse what was typed; the change itself goes through ``catalog.services`` with the
request user as actor, whose ``require()`` decides. Error messages never repeat what was typed
(it may be anything, e.g. personal data pasted into the wrong box).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.permissions import CHANGE, require
from catalog import services
from catalog.choices import LegalBasis, Sensitivity
from catalog.models import DataAsset, Domain, GlossaryTerm


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True), help_text="Added to each selected asset's owners."
    )
    reason = forms.CharField(required=False, help_text="Recorded in the audit ledger (adding yourself is a steward decision).")


class SetSensitivityForm(forms.Form):
    sensitivity = forms.ChoiceField(choices=Sensitivity.choices)
    reason = forms.CharField(required=False, help_text="Recorded in the audit ledger (lowering is a steward decision).")


# --- asset page: one small form per editable field ----------------------------------------------

EDITABLE_FIELDS = (
    "description",
    "owners",
    "stewards",
    "tags",
    "glossary_terms",
    "domain",
    "processing_purposes",
    "sensitivity",
    "legal_basis",
)
# Fields whose change the page treats as a steward's decision: the form asks for a reason.
REASON_REQUIRED = ("sensitivity", "legal_basis")
MAX_NAMES = 50
NOT_ALLOWED = "Not one of the allowed values."


def split_names(value: str) -> list[str]:
    """``"a, b\nc"`` -> ``["a", "b", "c"]`` (commas or new lines; blanks dropped; order kept, no repeats)."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,\n]", value or ""):
        name = part.strip()
        if name:
            seen.setdefault(name, None)
    return list(seen)


class AssetFieldForm(forms.Form):
    """One field of an asset, as typed on the asset page (``field`` names which one).

    ``owners``/``stewards`` are usernames, ``tags`` tag names (new ones are created, which needs
    the add action), ``glossary_terms`` names of existing terms, ``processing_purposes`` one per
    line or comma-separated, ``sensitivity`` a level and ``legal_basis`` a lawful basis (or empty);
    those two need a ``reason``. ``reason`` goes to the audit ledger with the change.
    """

    field = forms.ChoiceField(choices=[(f, f) for f in EDITABLE_FIELDS])
    value = forms.CharField(required=False, max_length=20_000, strip=True)
    domain = forms.ModelChoiceField(queryset=Domain.objects.all(), required=False)
    reason = forms.CharField(required=False, max_length=500)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        field, value = data.get("field"), data.get("value", "")
        if field is None:
            return data
        if field in ("owners", "stewards", "tags", "glossary_terms", "processing_purposes"):
            names = split_names(value)
            if len(names) > MAX_NAMES:
                raise forms.ValidationError(f"At most {MAX_NAMES} entries.")
            data["names"] = names
        if field in ("owners", "stewards"):
            users = {u.get_username(): u for u in get_user_model().objects.filter(is_active=True, username__in=data["names"])}
            missing = len([n for n in data["names"] if n not in users])
            if missing:
                raise forms.ValidationError(
                    f"{missing} of the names {'is not an active user' if missing == 1 else 'are not active users'}."
                )
            data["users"] = [users[n] for n in data["names"]]
        if field == "glossary_terms":
            terms = {t.name: t for t in GlossaryTerm.objects.filter(name__in=data["names"])}
            missing = len([n for n in data["names"] if n not in terms])
            if missing:
                raise forms.ValidationError(
                    f"{missing} of the names {'is not a glossary term' if missing == 1 else 'are not glossary terms'}."
                )
            data["terms"] = [terms[n] for n in data["names"]]
        if field == "sensitivity" and value not in Sensitivity.values:
            raise forms.ValidationError(NOT_ALLOWED)
        if field == "legal_basis" and value and value not in LegalBasis.values:
            raise forms.ValidationError(NOT_ALLOWED)
        if field in REASON_REQUIRED and not data.get("reason"):
            raise forms.ValidationError("Give a reason: it is kept in the audit ledger with the decision.")
        if field == "tags":
            for name in data["names"]:
                if len(name) > 200:
                    raise forms.ValidationError("A tag name has at most 200 characters.")
        return data

    def save(self, *, asset: DataAsset, actor: Any) -> DataAsset:
        """Apply the change through the catalog services (they check ``actor`` and audit it)."""
        data = self.cleaned_data
        field, reason = data["field"], data.get("reason", "")
        with transaction.atomic():
            if field == "description":
                return services.asset_update(asset=asset, actor=actor, reason=reason, description=data["value"])
            if field == "owners":
                return services.asset_set_owners(asset=asset, owners=data["users"], actor=actor, reason=reason)
            if field == "stewards":
                return services.asset_update(asset=asset, actor=actor, reason=reason, stewards=data["users"])
            if field == "tags":
                # the asset change is refused before any tag is created for it (same check as the service's)
                require(actor, CHANGE, "assets")
                tags = [services.tag_ensure(name=name, actor=actor) for name in data["names"]]
                return services.asset_update(asset=asset, actor=actor, reason=reason, tags=tags)
            if field == "glossary_terms":
                return services.asset_update(asset=asset, actor=actor, reason=reason, glossary_terms=data["terms"])
            if field == "domain":
                return services.asset_update(asset=asset, actor=actor, reason=reason, domain=data.get("domain"))
            if field == "sensitivity":
                return services.asset_update(asset=asset, actor=actor, reason=reason, sensitivity=data["value"])
            if field == "legal_basis":
                return services.asset_update(asset=asset, actor=actor, reason=reason, legal_basis=data["value"])
            return services.asset_update(asset=asset, actor=actor, reason=reason, processing_purposes=data["names"])

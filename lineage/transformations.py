"""The transformations of a column edge and what they mean for PII propagation.

An OpenLineage ``columnLineage`` input field lists its transformations in no particular order
(spec: an array). The rule (docs/lineage.md, "PII propagation"), erring on the safe side:

* an input field carries its labels to the output if **any** DIRECT transformation of it is not
  masking (``CASE WHEN consent THEN email ELSE md5(email) END``: the raw value flows in one branch);
* it stops only when every DIRECT transformation masks, or when it has only INDIRECT ones
  (filter, join key, group by, sort: the output is affected, no value flows);
* an empty list counts as DIRECT and unmasked (``openlineage-dbt`` sends ``[]`` for ``md5(email)``;
  a steward may mark such an edge as masking, with a reason).

Any type other than ``INDIRECT`` is a value flow (``DIRECT``, and the deprecated ``IDENTITY``,
``TRANSFORMED``, ``AGGREGATED``, ``MASKED`` -- the last one masking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineage.choices import INDIRECT


@dataclass(frozen=True)
class Summary:
    """The edge's columns derived from its transformations: the representative transformation's
    type, subtype and description, and ``masking`` (every DIRECT transformation masks)."""

    transformation_type: str
    transformation_subtype: str
    description: str
    masking: bool


def normalise(transformations: list[dict] | None, legacy: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every transformation as ``{"type", "subtype", "description", "masking"}``, in the order sent.

    ``legacy``: the deprecated per-field ``transformationType``/``transformationDescription``,
    used when the field lists no transformations."""
    out = [
        {
            "type": str(t.get("type") or ""),
            "subtype": str(t.get("subtype") or ""),
            "description": str(t.get("description") or ""),
            "masking": t.get("masking") is True,
        }
        for t in transformations or []
    ]
    legacy = legacy or {}
    if not out and legacy.get("transformationType"):
        kind = str(legacy["transformationType"])
        out.append(
            {
                "type": kind,
                "subtype": "",
                "description": str(legacy.get("transformationDescription") or ""),
                "masking": kind.upper() == "MASKED",
            }
        )
    return out


def is_direct(transformation: dict[str, Any]) -> bool:
    return str(transformation.get("type") or "").upper() != INDIRECT


def summarise(transformations: list[dict[str, Any]]) -> Summary:
    """The edge's summary under the rule above (``transformations`` as :func:`normalise` gives them).

    The representative is the first unmasked DIRECT transformation (why PII flows), else the
    first DIRECT one (all mask), else the first (all INDIRECT)."""
    if not transformations:
        return Summary("", "", "", False)
    direct = [t for t in transformations if is_direct(t)]
    if not direct:
        first = transformations[0]
        return Summary(INDIRECT, first["subtype"], first["description"], False)
    unmasked = [t for t in direct if not t["masking"]]
    rep = unmasked[0] if unmasked else direct[0]
    return Summary(rep["type"], rep["subtype"], rep["description"], not unmasked)

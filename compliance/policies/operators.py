"""Column operators for anonymization: each transforms a whole pandas column at once.

Vectorised by value, not by cell: a column is factorised, the operator runs once per distinct
value and the results are mapped back with the codes (``pd.factorize`` + take). Nulls and empty
strings pass through untouched. Operators never log or raise with a value in the message.

Operator specs are dicts ``{"operator": NAME, **params}`` (see ``OPERATORS`` and docs/policies.md).
"""

from __future__ import annotations

import binascii
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from compliance.policies.keys import KeyRing, keyring

HIPAA_RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890", "893"}
)


class OperatorError(ValueError):
    """A spec names an unknown operator or carries invalid parameters."""


@dataclass
class Context:
    """State shared by every chunk of one run: keys, surrogate maps, reference year, scrubber."""

    reference_year: int
    restricted_zip3: frozenset[str] = HIPAA_RESTRICTED_ZIP3
    age_cap: int = 89
    age_cap_label: str = "90+"
    scrubber: Callable[[list[str]], list[str]] | None = None
    # The table's own identifier values (compliance.anonymization.known.KnownValues): removed from
    # free text after the recognizers; and the tally of words the scrubbing removed.
    known: Any = None
    text_stats: Any = None
    surrogates: dict[str, dict[Any, str]] = field(default_factory=dict)
    vaults: dict[str, Any] = field(default_factory=dict)
    _keys: KeyRing | None = None

    @property
    def keys(self) -> KeyRing:
        if self._keys is None:
            self._keys = keyring()
        return self._keys

    def vault(self, name: str):
        if name not in self.vaults:
            from compliance.policies.vault import SurrogateVault

            self.vaults[name] = SurrogateVault(self.keys.directory / "surrogates", name)
        return self.vaults[name]

    def close(self) -> None:
        """Commit and close the surrogate vaults opened by the run."""
        for vault in self.vaults.values():
            vault.close()
        self.vaults.clear()


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT


def map_unique(series: pd.Series, fn: Callable[[list[Any]], list[Any]]) -> pd.Series:
    """Apply ``fn`` to the distinct non-blank values of ``series`` and map the results back."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if not len(uniques):
        return series.astype(object)
    values = np.asarray(uniques, dtype=object)
    blank = _blank_mask(values)
    outputs = np.empty(len(values) + 1, dtype=object)
    outputs[:-1] = values  # blanks pass through
    outputs[-1] = None  # code -1: null
    keep = ~blank
    if keep.any():
        outputs[:-1][keep] = np.asarray(fn(values[keep].tolist()), dtype=object)
    return pd.Series(outputs[codes], index=series.index, name=series.name, dtype=object)


def _blank_mask(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool) | (values == "")


def _constant(series: pd.Series, value: Any) -> pd.Series:
    """``value`` in every non-blank cell, without factorising (redact and replace)."""
    raw = series.to_numpy(dtype=object, na_value=None)
    out = np.full(len(raw), value, dtype=object)
    blank = _blank_mask(raw)
    out[blank] = raw[blank]
    return pd.Series(out, index=series.index, name=series.name, dtype=object)


def _text(values: list[Any]) -> list[str]:
    return [v.isoformat() if hasattr(v, "isoformat") else str(v) for v in values]


# --- operators: each takes (series, spec, ctx, frame) and returns a Series or None (drop) -------


def op_keep(series, spec, ctx, frame):
    return series


def op_redact(series, spec, ctx, frame):
    # Empty and null cells stay empty: nothing to preserve, so no mask is needed.
    return pd.Series(np.full(len(series), None, dtype=object), index=series.index, name=series.name, dtype=object)


def op_suppress(series, spec, ctx, frame):
    return None


def op_replace(series, spec, ctx, frame):
    return _constant(series, spec.get("value", "<REDACTED>"))


def op_mask(series, spec, ctx, frame):
    char = spec.get("char", "*")
    keep_last = int(spec.get("keep_last", 4))
    keep_first = int(spec.get("keep_first", 0))

    def mask(values):
        out = []
        for text in _text(values):
            n = len(text)
            head, tail = min(keep_first, n), min(keep_last, max(0, n - keep_first))
            out.append(text[:head] + char * (n - head - tail) + (text[n - tail :] if tail else ""))
        return out

    return map_unique(series, mask)


def op_hmac(series, spec, ctx, frame):
    length = int(spec.get("length", 20))
    key = ctx.keys.ensure()
    return map_unique(series, lambda values: ctx.keys.hmac_token(_text(values), length=length, key=key))


def op_surrogate(series, spec, ctx, frame):
    """Random surrogate per distinct value, consistent across the chunks of a run (and across the
    columns sharing a ``namespace``). Not derived from the value: HIPAA 164.514(c)."""
    table = ctx.surrogates.setdefault(spec.get("vault") or spec.get("namespace") or str(series.name), {})
    prefix = spec.get("prefix", "sid_")
    if spec.get("vault"):
        # The same code for a value in every run and table that uses the vault.
        vault = ctx.vault(spec["vault"])

        def from_vault(values):
            missing = [v for v in dict.fromkeys(values) if v not in table]
            if missing:
                table.update(zip(missing, vault.tokens(_text(missing), prefix), strict=True))
            return [table[v] for v in values]

        return map_unique(series, from_vault)

    def surrogate(values):
        # A dict lookup per distinct value: pandas' Series.map(dict) would rebuild an index of the
        # whole (growing) table on every chunk.
        known = np.array([table.get(v) for v in values] if table else [None] * len(values), dtype=object)
        fresh = np.array([k is None for k in known], dtype=bool)
        if fresh.any():
            count = int(fresh.sum())
            # Random, not derived from the value: 8 random bytes each, hex-encoded in one go.
            tokens = np.frombuffer(binascii.hexlify(os.urandom(8 * count)), dtype="S16").astype("U16")
            tokens = np.char.add(prefix, tokens).astype(object)
            new_values = np.asarray(values, dtype=object)[fresh]
            table.update(zip(new_values.tolist(), tokens.tolist(), strict=True))
            known[fresh] = tokens
        return known

    return map_unique(series, surrogate)


def op_encrypt_siv(series, spec, ctx, frame):
    key = ctx.keys.ensure()
    return map_unique(series, lambda values: ctx.keys.encrypt_siv(_text(values), key=key))


def op_encrypt_gcm(series, spec, ctx, frame):
    # Randomised: equal inputs give different outputs, so this one runs per cell, not per value.
    key = ctx.keys.ensure()
    values = series.astype(object)
    mask = ~values.map(_is_blank).astype(bool)
    out = values.copy()
    if mask.any():
        out[mask] = ctx.keys.encrypt_gcm(_text(values[mask].tolist()), key=key)
    return out


def _zip3(value: Any, restricted: frozenset[str]) -> str:
    digits = re.sub(r"\D", "", str(value))
    if isinstance(value, int | np.integer) or len(digits) in (3, 4):
        digits = digits.zfill(5)
    elif len(digits) in (7, 8):
        digits = digits.zfill(9)
    head = digits[:3]
    return "000" if len(head) < 3 or head in restricted else head


def _zip3_many(values: list[Any], restricted: frozenset[str]) -> list[str]:
    """ZIP3 of many values at once (same rules as ``_zip3``)."""
    raw = pd.Series(values, dtype=object)
    digits = raw.astype(str).str.replace(r"\D", "", regex=True)
    lengths = digits.str.len()
    is_int = raw.map(lambda v: isinstance(v, int | np.integer)).to_numpy(dtype=bool)
    five = is_int | lengths.isin([3, 4]).to_numpy()
    nine = lengths.isin([7, 8]).to_numpy()
    digits = digits.where(~five, digits.str.zfill(5)).where(~nine, digits.str.zfill(9))
    head = digits.str[:3]
    bad = (head.str.len() < 3) | head.isin(restricted)
    return head.where(~bad, "000").tolist()


def parse_dates(values: list[Any]) -> pd.DatetimeIndex:
    # Integers are read as written (19200629 is a compact date), never as nanoseconds since 1970.
    values = [str(v) if isinstance(v, int | np.integer) and not isinstance(v, bool) else v for v in values]
    series = pd.Series(values, dtype=object)
    try:
        parsed = pd.to_datetime(series, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # mixed time zones (or aware and naive values): compare in UTC
        parsed = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    index = pd.DatetimeIndex(parsed)
    return index.tz_localize(None) if index.tz is not None else index


def op_generalize(series, spec, ctx, frame):
    method = spec.get("method")
    if method == "zip3":
        return map_unique(series, lambda values: _zip3_many(values, ctx.restricted_zip3))
    if method == "year":
        # "birth" (a date of birth) and "age_indicative" (any date directly related to the
        # individual, Safe Harbor): a year 90 or more years back indicates an age over 89 and
        # aggregates into 90+ (45 CFR 164.514(b)(2)(i)(C)), whatever the column is called.
        birth = bool(spec.get("birth", False) or spec.get("age_indicative", False))

        def year(values):
            parsed = parse_dates(values)
            years = parsed.year.to_numpy(dtype="float64", na_value=np.nan)
            out = np.where(
                np.isnan(years), None, pd.Series(years).map(lambda y: str(int(y)) if y == y else None).to_numpy(dtype=object)
            )
            if birth:
                old = ~np.isnan(years) & (ctx.reference_year - years > ctx.age_cap)
                out[old] = ctx.age_cap_label
            return out.tolist()

        return map_unique(series, year)
    if method in ("age_band", "age_cap"):
        width = int(spec.get("width", 10))

        def age(values):
            numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
            out = []
            for raw, number in zip(values, numbers, strict=True):
                if pd.isna(number):
                    # Already a band ("65-79"): kept, unless it reaches past the cap.
                    numbers = [int(n) for n in re.findall(r"\d+", str(raw))]
                    out.append(ctx.age_cap_label if numbers and max(numbers) > ctx.age_cap else raw if numbers else None)
                elif number > ctx.age_cap:
                    out.append(ctx.age_cap_label)
                elif method == "age_cap":
                    out.append(raw if isinstance(raw, str) else str(int(number)) if float(number).is_integer() else str(number))
                else:
                    low = int(number // width * width)
                    out.append(f"{low}-{low + width - 1}")
            return out

        return map_unique(series, age)
    if method == "truncate":
        length = int(spec.get("length", 3))
        return map_unique(series, lambda values: [t[:length] for t in _text(values)])
    raise OperatorError("generalize needs method zip3, year, age_band, age_cap or truncate")


def op_date_shift(series, spec, ctx, frame):
    """Shift dates by a per-subject offset in [-max_days, +max_days] derived with a keyed HMAC of the
    subject id, so all dates of one subject move together (intervals are kept)."""
    subject = spec.get("subject_column")
    if not subject or frame is None or subject not in frame.columns:
        raise OperatorError("date_shift needs subject_column naming a column of the table")
    max_days = int(spec.get("max_days", 365))
    key = ctx.keys.ensure()
    span = 2 * max_days + 1

    def offsets(values):
        return [int.from_bytes(key.mac("shift", s.encode("utf-8"))[:4], "big") % span - max_days for s in _text(values)]

    offset_days = pd.to_numeric(map_unique(frame[subject], offsets), errors="coerce").fillna(0).astype("int64")
    d_codes, d_uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = parse_dates(list(d_uniques))
    has_time = bool(((parsed.hour != 0) | (parsed.minute != 0) | (parsed.second != 0)).any()) if len(parsed) else False
    dates = np.full(len(series), np.datetime64("NaT"), dtype="datetime64[ns]")
    valid = d_codes >= 0
    dates[valid] = parsed.values.astype("datetime64[ns]")[d_codes[valid]]
    shifted = pd.DatetimeIndex(dates) + pd.to_timedelta(offset_days.to_numpy(), unit="D")
    fmt = "%Y-%m-%dT%H:%M:%S" if has_time else "%Y-%m-%d"
    text = pd.Series(shifted.strftime(fmt), index=series.index, dtype=object)
    return text.where(~pd.isna(shifted), None)


def op_scrub(series, spec, ctx, frame):
    """Free text: every value the table itself holds (``ctx.known``: any row's names, name parts,
    contacts, numbers, addresses, dates) first, then the recognizers' spans (``ctx.scrubber``),
    each replaced with ``<ENTITY_TYPE>``; the words removed are tallied in ``ctx.text_stats``."""
    if ctx.scrubber is None:
        raise OperatorError("scrub needs a Presidio scrubber in the run context")

    def scrub(values):
        texts = _text(values)
        # The table's own values first, while they are intact (a recognizer that takes the last
        # four digits of a phone number would leave the rest unrecognisable), then the recognizers.
        out = ctx.scrubber(ctx.known.scrub_texts(texts) if ctx.known else texts)
        if ctx.text_stats is not None:
            ctx.text_stats.add(texts, out, known=ctx.known, column=str(series.name))
        return out

    return map_unique(series, scrub)


OPERATORS: dict[str, Callable[..., pd.Series | None]] = {
    "keep": op_keep,
    "redact": op_redact,
    "suppress": op_suppress,
    "replace": op_replace,
    "mask": op_mask,
    "hmac": op_hmac,
    "surrogate": op_surrogate,
    "encrypt_siv": op_encrypt_siv,
    "encrypt_gcm": op_encrypt_gcm,
    "generalize": op_generalize,
    "date_shift": op_date_shift,
    "scrub": op_scrub,
}
PARAMS = {
    "keep": set(),
    "redact": set(),
    "suppress": set(),
    "replace": {"value"},
    "mask": {"char", "keep_last", "keep_first"},
    "hmac": {"length"},
    "surrogate": {"namespace", "prefix", "vault"},
    "encrypt_siv": set(),
    "encrypt_gcm": set(),
    "generalize": {"method", "width", "birth", "age_indicative", "length"},
    "date_shift": {"subject_column", "max_days"},
    "scrub": {"entities"},
}
# Operators whose output can be reversed by an authorised user (services.token_reveal).
REVERSIBLE = frozenset({"encrypt_siv", "encrypt_gcm"})


def validate_spec(spec: Any) -> None:
    if not isinstance(spec, dict) or spec.get("operator") not in OPERATORS:
        raise OperatorError(f"operator must be one of {', '.join(sorted(OPERATORS))}")
    unknown = set(spec) - {"operator"} - PARAMS[spec["operator"]]
    if unknown:
        raise OperatorError(f"unknown parameter(s) for {spec['operator']}: {', '.join(sorted(unknown))}")
    if spec["operator"] == "generalize" and spec.get("method") not in {"zip3", "year", "age_band", "age_cap", "truncate"}:
        raise OperatorError("generalize needs method zip3, year, age_band, age_cap or truncate")
    if spec["operator"] == "date_shift" and not spec.get("subject_column"):
        raise OperatorError("date_shift needs subject_column")


def apply(series: pd.Series, spec: dict[str, Any], ctx: Context, frame: pd.DataFrame | None = None) -> pd.Series | None:
    validate_spec(spec)
    return OPERATORS[spec["operator"]](series, spec, ctx, frame)

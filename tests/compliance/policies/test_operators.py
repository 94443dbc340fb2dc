"""Column operators and the managed key ring."""

from __future__ import annotations

import pandas as pd
import pytest

from compliance.policies import keys, operators
from compliance.policies.operators import Context, apply


@pytest.fixture
def ctx():
    return Context(reference_year=2026)


def col(values, name="c"):
    return pd.Series(values, name=name, dtype=object)


def test_zip3_keeps_three_digits_and_zeroes_the_restricted_prefixes(ctx):
    out = apply(col(["02139", "03601", "89301-1234", 2139, "", None]), {"operator": "generalize", "method": "zip3"}, ctx)
    assert out.tolist() == ["021", "000", "000", "021", "", None]


def test_year_generalization_and_birth_years_of_people_over_89(ctx):
    dates = col(["1980-05-03", "1930-01-02", "2024-12-31T10:00:00Z", "not a date"])
    assert apply(dates, {"operator": "generalize", "method": "year"}, ctx).tolist() == ["1980", "1930", "2024", None]
    births = apply(dates, {"operator": "generalize", "method": "year", "birth": True}, ctx).tolist()
    assert births[:2] == ["1980", "90+"]


def test_ages_over_89_become_90_plus_and_bands_group_the_rest(ctx):
    ages = col(["45", "89", "90", "104", "65-79"])
    assert apply(ages, {"operator": "generalize", "method": "age_cap"}, ctx).tolist() == ["45", "89", "90+", "90+", "65-79"]
    assert apply(col(["45", "7", "95"]), {"operator": "generalize", "method": "age_band", "width": 10}, ctx).tolist() == [
        "40-49",
        "0-9",
        "90+",
    ]


def test_mask_redact_replace_suppress(ctx):
    assert apply(col(["4111111111111111"]), {"operator": "mask", "keep_last": 4}, ctx).tolist() == ["************1111"]
    assert apply(col(["a", None]), {"operator": "redact"}, ctx).tolist() == [None, None]
    assert apply(col(["a", "b"]), {"operator": "replace", "value": "<X>"}, ctx).tolist() == ["<X>", "<X>"]
    assert apply(col(["a"]), {"operator": "suppress"}, ctx) is None


def test_hmac_tokens_are_deterministic_joinable_and_keyed(ctx, settings, tmp_path):
    first = apply(col(["alice@example.org", "bob@example.org", "alice@example.org"]), {"operator": "hmac"}, ctx).tolist()
    assert first[0] == first[2] != first[1]
    assert all(t.startswith("tok_") and "alice" not in t for t in first)
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp_path / "other-ring")
    other = apply(col(["alice@example.org"]), {"operator": "hmac"}, Context(reference_year=2026)).tolist()
    assert other[0] != first[0]


def test_aes_siv_is_deterministic_and_aes_gcm_is_randomised_and_both_decrypt(ctx):
    values = col(["+1 617 555 0100", "+1 617 555 0100"])
    siv = apply(values, {"operator": "encrypt_siv"}, ctx).tolist()
    gcm = apply(values, {"operator": "encrypt_gcm"}, ctx).tolist()
    assert siv[0] == siv[1] and gcm[0] != gcm[1]
    ring = keys.keyring()
    assert {ring.decrypt(t) for t in siv + gcm} == {"+1 617 555 0100"}


def test_rotation_keeps_old_ciphertexts_readable_and_new_tokens_use_the_new_key(ctx):
    ring = keys.keyring()
    old = apply(col(["x@example.org"]), {"operator": "encrypt_siv"}, ctx).tolist()[0]
    old_kid = ring.active_kid()
    new_kid = ring.rotate()
    fresh = apply(col(["x@example.org"]), {"operator": "encrypt_siv"}, Context(reference_year=2026)).tolist()[0]
    assert new_kid != old_kid and f":{new_kid}:" in fresh and f":{old_kid}:" in old
    assert ring.decrypt(old) == ring.decrypt(fresh) == "x@example.org"


def test_a_tampered_ciphertext_does_not_decrypt(ctx):
    token = apply(col(["secret"]), {"operator": "encrypt_gcm"}, ctx).tolist()[0]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(keys.KeyError_):
        keys.keyring().decrypt(tampered)


def test_date_shift_moves_all_dates_of_a_subject_by_the_same_offset(ctx):
    frame = pd.DataFrame(
        {
            "pid": ["p1", "p1", "p2", "p2"],
            "admit": ["2024-01-10", "2024-03-01", "2024-01-10", "2024-01-20"],
        }
    )
    shifted = pd.to_datetime(
        apply(frame["admit"], {"operator": "date_shift", "subject_column": "pid", "max_days": 100}, ctx, frame)
    )
    original = pd.to_datetime(frame["admit"])
    offsets = (shifted - original).dt.days.tolist()
    assert offsets[0] == offsets[1] and offsets[2] == offsets[3]
    assert all(-100 <= o <= 100 for o in offsets)
    assert (shifted[1] - shifted[0]) == (original[1] - original[0])


def test_surrogates_are_random_but_consistent_within_a_run(ctx):
    first = apply(col(["MRN-1", "MRN-2"]), {"operator": "surrogate"}, ctx).tolist()
    again = apply(col(["MRN-2", "MRN-1"]), {"operator": "surrogate"}, ctx).tolist()
    assert again == first[::-1]
    other_run = apply(col(["MRN-1"]), {"operator": "surrogate"}, Context(reference_year=2026)).tolist()
    assert other_run[0] != first[0]


def test_specs_are_validated():
    with pytest.raises(operators.OperatorError):
        operators.validate_spec({"operator": "rot13"})
    with pytest.raises(operators.OperatorError):
        operators.validate_spec({"operator": "mask", "colour": "red"})
    with pytest.raises(operators.OperatorError):
        operators.validate_spec({"operator": "date_shift"})

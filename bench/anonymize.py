"""Anonymization speed: Custos's vectorised column operators against Presidio's own
``presidio_structured.StructuredEngine``, on the same 1,000,000-row table, in the same run.

    .venv/bin/python bench/anonymize.py [--rows 1000000] [--baseline-rows 20000] [--profile hipaa-safe-harbor]

The table is a generated patients table (seeded; names, SSNs, phones, e-mails, addresses, ZIPs,
dates, ids and clinical columns; values drawn from Faker pools so the table builds in seconds).

* **Custos**: ``anonymizer.plan_columns`` (name hints + a Presidio scan of a 2,000-row sample) and
  ``transform_chunk`` over the whole in-memory table, in 100,000-row chunks, with the Safe Harbor
  profile: names replaced, contacts/ids redacted, ZIP3 with the restricted prefixes, dates to
  year, ages over 89 to 90+, random surrogates for ids.
* **Baseline**: ``StructuredEngine().anonymize(df, StructuredAnalysis(entity_mapping), operators)``
  with the *same* column-to-entity mapping given to it (its detection step is not timed, which
  favours the baseline) and the equivalent Presidio operators (replace, redact, custom lambdas for
  ZIP3, year, age cap and surrogates). It works cell by cell; it is timed on the first
  ``--baseline-rows`` rows and extrapolated to the full table (stated in the output).
* **Files**: the end-to-end ``anonymize_file`` throughput (CSV in, CSV out, verification on) for the
  same table, for information.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CUSTOS_ENV", "development")


def build_table(rows: int, seed: int = 11) -> pd.DataFrame:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)

    def pool(make, n):
        return np.array([make() for _ in range(n)], dtype=object)

    firsts, lasts = pool(fake.first_name, 3000), pool(fake.last_name, 5000)
    streets, cities = pool(fake.street_address, 20000), pool(fake.city, 3000)
    zips = pool(fake.zipcode, 30000)
    zips[:300] = "03601"  # a restricted ZIP3 area
    states = pool(fake.state_abbr, 60)
    pick = lambda values: values[rng.integers(0, len(values), rows)]  # noqa: E731
    idx = np.arange(rows)
    born = pd.Timestamp("1925-01-01") + pd.to_timedelta(rng.integers(0, 36000, rows), unit="D")
    admitted = pd.Timestamp("2016-01-01") + pd.to_timedelta(rng.integers(0, 3650, rows), unit="D")
    ssn = np.char.add(
        np.char.add(rng.integers(100, 899, rows).astype(str), "-"),
        np.char.add(np.char.add(rng.integers(10, 99, rows).astype(str), "-"), rng.integers(1000, 9999, rows).astype(str)),
    )
    first, last = pick(firsts), pick(lasts)
    return pd.DataFrame(
        {
            "patient_id": np.char.add("P", (10_000_000 + idx).astype(str)),
            "mrn": np.char.add("MRN-", rng.integers(1_000_000, 9_999_999, rows).astype(str)),
            "first_name": first,
            "last_name": last,
            "date_of_birth": born.strftime("%Y-%m-%d"),
            "age": ((pd.Timestamp("2026-01-01") - born).days // 365).astype(str),
            "sex": rng.choice(["F", "M"], rows),
            "ssn": ssn,
            "phone": np.char.add(
                np.char.add("(", rng.integers(201, 989, rows).astype(str)),
                np.char.add(") 555-", rng.integers(1000, 9999, rows).astype(str)),
            ),
            "email": np.char.add(
                np.char.add(np.char.lower(first.astype(str)), "."),
                np.char.add(np.char.lower(last.astype(str)), np.char.add(idx.astype(str), "@example.org")),
            ),
            "street_address": pick(streets),
            "city": pick(cities),
            "state": pick(states),
            "zip": pick(zips),
            "admitted_on": admitted.strftime("%Y-%m-%d"),
            "diagnosis_code": rng.choice(["E11.9", "I10", "J44.9", "N39.0", "K92.2", "A41.9"], rows),
            "blood_type": rng.choice(["A+", "A-", "B+", "O+", "O-", "AB+"], rows),
            "length_of_stay": rng.integers(1, 30, rows).astype(str),
        }
    ).astype(object)


def run_custos(df: pd.DataFrame, profile: dict, chunk_rows: int = 100_000) -> tuple[float, list, pd.DataFrame]:
    from django.utils import timezone

    from compliance.policies import anonymizer, operators

    ctx = operators.Context(reference_year=timezone.now().year)
    started = time.perf_counter()
    plans = anonymizer.plan_columns(df.head(2000), profile, scan=True)
    last = None
    for start in range(0, len(df), chunk_rows):
        last = anonymizer.transform_chunk(df.iloc[start : start + chunk_rows], plans, ctx)
    return time.perf_counter() - started, plans, last


def run_baseline(df: pd.DataFrame, plans: list) -> float:
    from presidio_anonymizer.entities import OperatorConfig
    from presidio_structured import StructuredAnalysis, StructuredEngine

    reference_year = pd.Timestamp.now().year
    restricted = {
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    }
    surrogates: dict = {}

    def zip3(v):
        head = "".join(c for c in str(v) if c.isdigit())[:3]
        return "000" if head in restricted else head

    def year(v):
        return str(v)[:4]

    def birth_year(v):
        return "90+" if reference_year - int(str(v)[:4]) > 89 else str(v)[:4]

    def age(v):
        return "90+" if int(v) > 89 else v

    def surrogate(v):
        return surrogates.setdefault(v, "id_" + secrets.token_hex(8))

    by_spec = {
        "replace": lambda p: OperatorConfig("replace", {"new_value": p.spec.get("value", "<REDACTED>")}),
        "redact": lambda p: OperatorConfig("redact", {}),
        "surrogate": lambda p: OperatorConfig("custom", {"lambda": surrogate}),
    }
    methods = {"zip3": zip3, "year": year, "age_cap": age}
    mapping, ops = {}, {}
    for plan in plans:
        op = plan.spec["operator"]
        if op == "keep":
            continue
        entity = f"E_{plan.name.upper()}"  # one entity per column so each gets its own operator
        mapping[plan.name] = entity
        if op == "generalize":
            fn = birth_year if plan.spec.get("birth") else methods[plan.spec["method"]]
            ops[entity] = OperatorConfig("custom", {"lambda": fn})
        else:
            ops[entity] = by_spec[op](plan)
    engine = StructuredEngine()
    started = time.perf_counter()
    engine.anonymize(df.copy(), StructuredAnalysis(entity_mapping=mapping), ops)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--profile", default="hipaa-safe-harbor")
    parser.add_argument("--skip-file", action="store_true", help="skip the end-to-end CSV run")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from compliance.policies import anonymizer, profiles

    tmp = Path(tempfile.mkdtemp(prefix="custos-bench-"))
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp / "keys")
    profile = profiles.resolve({"profile": args.profile})

    t0 = time.perf_counter()
    cached = REPO / "var" / "bench" / f"anonymize_{args.rows}.parquet"
    if cached.exists():
        df = pd.read_parquet(cached).astype(object)
        how = f"read from {cached.relative_to(REPO)}"
    else:
        df = build_table(args.rows)
        cached.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(cached, index=False)
        how = f"built (seeded) and cached in {cached.relative_to(REPO)}"
    print(f"table: {len(df):,} rows x {len(df.columns)} columns, {how} in {time.perf_counter() - t0:.1f} s")

    # Warm the PII engine (spaCy model load) outside both timings.
    anonymizer.plan_columns(df.head(200), profile, scan=True)

    custos_s, plans, _ = run_custos(df, profile)
    custos_rps = len(df) / custos_s
    changed = [p.name for p in plans if p.spec["operator"] != "keep"]
    print(
        f"custos   : {len(df):,} rows in {custos_s:.2f} s = {custos_rps:,.0f} rows/s ({len(changed)} of {len(plans)} columns transformed)"
    )

    sub = df.head(min(args.baseline_rows, len(df)))
    base_s = run_baseline(sub, plans)
    base_rps = len(sub) / base_s
    note = (
        f"measured on the first {len(sub):,} rows, extrapolated to {len(df):,} rows: {len(df) / base_rps:,.0f} s"
        if len(sub) < len(df)
        else "measured on the full table"
    )
    print(f"baseline : presidio_structured.StructuredEngine {base_rps:,.0f} rows/s ({note})")
    print(f"speed-up : {custos_rps / base_rps:,.1f}x (target >= 20x)")

    if not args.skip_file:
        src, dst = tmp / "patients.csv", tmp / "patients_deid.csv"
        df.to_csv(src, index=False)
        report = anonymizer.anonymize_file(src, dst, profile=profile, verify=True)
        print(
            f"file     : anonymize_file CSV->CSV with verification: {report.rows:,} rows in {report.seconds:.1f} s = "
            f"{report.rows_per_second:,.0f} rows/s; identifier values found in output: "
            f"{report.identifier_check['values_found_in_output']}; re-scan residual: {len(report.rescan['residual'])}"
        )


if __name__ == "__main__":
    main()

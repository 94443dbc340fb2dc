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
* **Free text** (issue 13): a seeded ``--text-rows`` patients table (5,000 by default) whose notes
  mention the row's identifiers as people write them (full name, first or last name alone, a
  first name in capitals, the phone with dots or ``+1``, the e-mail, the SSN, the MRN's digits,
  the street without its number, the city; unless ``--no-street-variants``, every fourth
  note also names the street with its suffix abbreviated or by its name alone), another
  patient's last name, and identifiers the
  table does not hold (a clinician's name, a relative's name, a visit date), between clinical
  sentences that use everyday words which are also names (``will``, ``may``, ``hope``). Every
  identifier span is labelled when the note is built. Safe Harbor runs end to end
  (``anonymize_file``, CSV -> CSV). Printed: the identifier values of the table the run's own
  value search finds in the output (every cell, partial forms included; target 0); the labelled
  spans still present in the output notes, by kind (an independent check, target 0); the exact
  over-redaction share (labelled non-identifying words removed / non-identifying words) and the
  run's own upper bound (``report.free_text.over_redaction_share``).
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


NOTE_FILLER = [
    "Blood pressure stable on current medications.",
    "Patient will return in two weeks for a repeat panel.",
    "Mild headache since the last visit, no fever.",
    "Labs notable for mild anemia, otherwise unremarkable.",
    "We hope the new dose may reduce the swelling.",
    "Continue physical therapy and monitor blood glucose.",
    "Tolerating oral intake, ambulating independently.",
    "Discussed diet and exercise; patient verbalized understanding.",
]


def _dotted(phone: str) -> str:
    digits = "".join(c for c in phone.split("x")[0] if c.isdigit())[-10:]
    return f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"


def _plus_one(phone: str) -> str:
    digits = "".join(c for c in phone.split("x")[0] if c.isdigit())[-10:]
    return f"+1 {digits[:3]} {digits[3:6]} {digits[6:]}"


def _street(address: str) -> str:
    words = address.split()
    words = words[1:] if words and words[0].isdigit() else words
    for unit in ("Apt.", "Suite"):
        if unit in words:
            words = words[: words.index(unit)]
    return " ".join(words)


# How people abbreviate the suffixes Faker writes in full (the bench's own short list, so the
# labels do not come from the code under test).
SUFFIX_SHORT = {
    "Street": "St",
    "Streets": "Sts",
    "Avenue": "Ave",
    "Road": "Rd",
    "Roads": "Rds",
    "Drive": "Dr",
    "Lane": "Ln",
    "Court": "Ct",
    "Courts": "Cts",
    "Flat": "Flt",
    "Flats": "Flts",
    "Plains": "Plns",
    "Center": "Ctr",
    "Heights": "Hts",
    "Mountain": "Mtn",
    "Parkway": "Pkwy",
    "Boulevard": "Blvd",
    "Square": "Sq",
    "Terrace": "Ter",
    "Place": "Pl",
    "Point": "Pt",
    "Highway": "Hwy",
    "Junction": "Jct",
    "Crossing": "Xing",
    "Extension": "Ext",
    "Extensions": "Exts",
    "Village": "Vlg",
    "Valley": "Vly",
    "Station": "Sta",
    "Trail": "Trl",
    "Circle": "Cir",
    "Creek": "Crk",
    "Estates": "Ests",
    "Meadows": "Mdws",
    "Springs": "Spgs",
}


def street_sentence(address: str, rng) -> list[tuple[str | None, str]] | None:
    """A sentence naming the row's street another way: the suffix abbreviated (with the house
    number) or the street name alone."""
    words = _street(address).split()
    if len(words) < 2:
        return None
    number = address.split()[0]
    name, suffix = " ".join(words[:-1]), words[-1]
    if suffix in SUFFIX_SHORT and rng.random() < 0.5:
        return [(None, "Mail goes to "), ("street, suffix abbreviated", f"{number} {name} {SUFFIX_SHORT[suffix]}"), (None, ".")]
    return [(None, "Walks along "), ("street name alone", name), (None, " most mornings.")]


def build_notes_table(
    rows: int, seed: int = 13, *, street_variants: bool = True
) -> tuple[pd.DataFrame, list[list[tuple[int, int, str]]]]:
    """A patients table with free-text notes, and for each note its labelled identifier spans
    ``(start, end, kind)`` (kinds starting with ``other:`` are identifiers the table does not hold).
    With ``street_variants`` every fourth note ends with one more sentence naming the row's street
    another way (``street_sentence``, its own random stream: the other notes are unchanged)."""
    import random

    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    people = []
    for i in range(rows):
        first, last = fake.first_name(), fake.last_name()
        people.append(
            {
                "patient_id": f"P{2_000_000 + i}",
                "mrn": f"MRN-{rng.randint(1_000_000, 9_999_999)}",
                "full_name": f"{first} {last}",
                "date_of_birth": fake.date_of_birth(minimum_age=1, maximum_age=100).isoformat(),
                "sex": rng.choice("FM"),
                "ssn": fake.ssn(),
                "phone": fake.phone_number(),
                "email": fake.email(),
                "street_address": fake.street_address(),
                "city": fake.city(),
                "state": fake.state_abbr(),
                "zip": fake.zipcode(),
            }
        )
    clinicians = [fake.last_name() for _ in range(200)]
    street_rng = random.Random(seed + 1)
    labels: list[list[tuple[int, int, str]]] = []
    notes = []
    for i, person in enumerate(people):
        first, last = person["full_name"].split(" ", 1)
        other = people[(i + 7) % rows]["full_name"].split(" ", 1)[1]
        mentions = [
            [("name", person["full_name"]), (None, " seen today for follow-up.")],
            [("first name", first), (None, " reports feeling better.")],
            [(None, "Called "), ("first name in capitals", first.upper()), (None, " about the results.")],
            [
                ("last name", last),
                (None, " family asked for a callback at "),
                ("phone with dots", _dotted(person["phone"])),
                (None, "."),
            ],
            [
                (None, "Reach the patient at "),
                ("phone with +1", _plus_one(person["phone"])),
                (None, " or "),
                ("e-mail", person["email"]),
                (None, "."),
            ],
            [
                (None, "SSN "),
                ("SSN", person["ssn"]),
                (None, " verified; record "),
                ("MRN digits", person["mrn"].split("-")[1]),
                (None, " updated."),
            ],
            [
                (None, "Lives on "),
                ("street without number", _street(person["street_address"])),
                (None, " in "),
                ("city", person["city"]),
                (None, "."),
            ],
            [(None, "Neighbour "), ("another patient's last name", other), (None, " drove the patient home.")],
            [
                (None, "Seen by Dr. "),
                ("other: clinician", rng.choice(clinicians)),
                (None, " on "),
                ("other: date", fake.date_between("-2y").strftime("%m/%d/%Y")),
                (None, "."),
            ],
        ]
        pieces = rng.sample(mentions, 4)
        fillers = rng.sample(NOTE_FILLER, 3)
        order = pieces[:2] + [[(None, fillers[0])]] + pieces[2:] + [[(None, fillers[1])], [(None, fillers[2])]]
        text, spans = "", []
        for sentence in order:
            if text:
                text += " "
            for kind, value in sentence:
                if kind is not None:
                    spans.append((len(text), len(text) + len(value), kind))
                text += value
        if street_variants and i % 4 == 0:
            sentence = street_sentence(person["street_address"], street_rng)
            if sentence:
                text += " "
                for kind, value in sentence:
                    if kind is not None:
                        spans.append((len(text), len(text) + len(value), kind))
                    text += value
        notes.append(text)
        labels.append(spans)
    frame = pd.DataFrame(people)
    frame["notes"] = notes
    return frame, labels


def run_free_text(rows: int, tmp: Path, profile: dict, *, street_variants: bool = True) -> None:
    """The free-text part (module doc): what survives Safe Harbor in notes, and what else it removed."""
    import re

    from compliance.policies import anonymizer

    try:
        from compliance.anonymization.redaction import removed_words
    except ImportError:  # an older checkout, measured for the "before" figure
        removed_words = None
    frame, labels = build_notes_table(rows, street_variants=street_variants)
    src, dst = tmp / "notes.csv", tmp / "notes_deid.csv"
    frame.to_csv(src, index=False)
    report = anonymizer.anonymize_file(src, dst, profile=profile, verify=True)
    output = pd.read_csv(dst, dtype=str, keep_default_na=False)
    search = next(c for c in report.verification["checks"] if c["name"].startswith("identifier value search"))
    survived: dict[str, int] = {}
    total: dict[str, int] = {}
    words = removed = 0
    for original, scrubbed, spans in zip(frame["notes"], output["notes"], labels, strict=True):
        for start, end, kind in spans:
            total[kind] = total.get(kind, 0) + 1
            value = original[start:end]
            if re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", scrubbed, re.I):
                survived[kind] = survived.get(kind, 0) + 1
        if removed_words is not None:
            for w_start, w_end, gone in removed_words(original, scrubbed):
                if not any(s < w_end and w_start < e for s, e, _ in spans):
                    words += 1
                    removed += gone
    table_kinds = [k for k in total if not k.startswith("other:")]
    in_table = sum(survived.get(k, 0) for k in table_kinds)
    print(
        f"text     : Safe Harbor on {report.rows:,} rows with notes in {report.seconds:.1f} s "
        f"({report.rows / report.seconds:,.0f} rows/s, free text included)"
    )
    print(
        f"survivors: identifier values of the table found in the output by the run's value search: {search['found']} cells "
        f"(every cell, {search['distinct_values_searched']:,} values and partial forms; target 0)"
    )
    print(
        f"survivors: labelled identifier spans of the table still in the notes: {in_table} of {sum(total[k] for k in table_kinds):,} "
        f"(target 0): " + ", ".join(f"{k} {survived.get(k, 0)}/{total[k]}" for k in sorted(table_kinds))
    )
    others = sorted(k for k in total if k.startswith("other:"))
    print(
        "survivors: labelled identifiers the table does not hold (left to the recognizers): "
        + ", ".join(f"{k[7:]} {survived.get(k, 0)}/{total[k]}" for k in others)
    )
    if removed_words is None:
        print("over-red.: not measured (this checkout has no compliance.anonymization.redaction)")
        return
    upper = (getattr(report, "free_text", None) or {}).get("over_redaction_share")
    print(
        f"over-red.: {removed:,} of {words:,} non-identifying words removed = {removed / words:.1%} (labelled); "
        "the run's own upper bound (report.free_text.over_redaction_share): "
        + (f"{upper:.1%}" if upper is not None else "not reported by this checkout")
    )


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
    parser.add_argument("--text-rows", type=int, default=5_000, help="rows of the free-text table (0: skip)")
    parser.add_argument(
        "--no-street-variants",
        action="store_true",
        help="the notes without the extra street sentences (the free-text table as before they were added)",
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from compliance.policies import anonymizer, profiles

    tmp = Path(tempfile.mkdtemp(prefix="custos-bench-"))
    settings.CUSTOS_POLICY_KEY_DIR = str(tmp / "keys")
    settings.CUSTOS_DATA_ROOTS = [tmp, *getattr(settings, "CUSTOS_DATA_ROOTS", [])]  # the bench's own files
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

    if args.text_rows:
        run_free_text(args.text_rows, tmp, profile, street_variants=not args.no_street_variants)


if __name__ == "__main__":
    main()

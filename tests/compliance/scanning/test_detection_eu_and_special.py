"""Issue 13, failure classes 5 and 6, with the real Presidio engine on tables generated here.

5. European data: national identifiers with their check digits (ES NIF/NIE, IT codice fiscale,
   PL PESEL, FI HETU, DE Steuer-IdNr; UK NINO by shape), European street addresses, postcodes and
   country codes. The same identifiers with a wrong check character are not reported.
6. GDPR Art. 9 special categories suggested from values and from names, citing the article.

The identifiers are computed here with the published check-digit algorithms (independently of
Presidio's validators); nothing is a real person's.
"""

from __future__ import annotations

import base64
import random

import pandas as pd
import pytest

from compliance.scanning.scanner import scan_dataframe

NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
HETU_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CF_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                  [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12,
                   14, 16, 10, 22, 25, 24, 23], strict=True))  # fmt: skip
CF_EVEN = {**{str(d): d for d in range(10)}, **{chr(65 + i): i for i in range(26)}}


def nif(rng: random.Random) -> str:
    n = rng.randint(10_000_000, 99_999_999)
    return f"{n}{NIF_LETTERS[n % 23]}"


def nie(rng: random.Random) -> str:
    prefix = rng.choice("XYZ")
    n = rng.randint(0, 9_999_999)
    return f"{prefix}{n:07d}{NIF_LETTERS[int(str('XYZ'.index(prefix)) + f'{n:07d}') % 23]}"


def codice_fiscale(rng: random.Random) -> str:
    letters = "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
    body = f"{letters}{rng.randint(40, 99)}{rng.choice('ABCDEHLMPRST')}{rng.randint(1, 28):02d}{rng.choice('ABCDEFGHL')}{rng.randint(100, 999)}"
    total = sum(CF_ODD[c] if i % 2 == 0 else CF_EVEN[c] for i, c in enumerate(body))
    return body + chr(65 + total % 26)


def pesel(rng: random.Random) -> str:
    year, month, day = rng.randint(1950, 2005), rng.randint(1, 12), rng.randint(1, 28)
    month += 20 if year >= 2000 else 0
    body = f"{year % 100:02d}{month:02d}{day:02d}{rng.randint(0, 9999):04d}"
    weights = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3]
    return body + str((10 - sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 10) % 10)


def hetu(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2005)
    individual = rng.randint(2, 899)
    sep = "-" if year < 2000 else "A"
    digits = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
    return f"{digits[:6]}{sep}{digits[6:]}{HETU_CHARS[int(digits) % 31]}"


def steuer_id(rng: random.Random) -> str:
    """10 digits, one of them twice and the others once, first not 0; ISO 7064 MOD 11,10 check digit."""
    while True:
        pool = rng.sample("0123456789", 9)
        digits = pool + [rng.choice(pool)]
        rng.shuffle(digits)
        if digits[0] != "0":
            break
    product = 10
    for d in digits:
        total = (int(d) + product) % 10 or 10
        product = (2 * total) % 11
    check = 11 - product
    return "".join(digits) + str(0 if check == 10 else check)


def nino(rng: random.Random) -> str:
    first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    return f"{first}{second}{rng.randint(0, 999_999):06d}{rng.choice('ABCD')}"


def broken(value: str, rng: random.Random) -> str:
    """The same identifier with its check character replaced by a wrong one."""
    last = value[-1]
    pool = "0123456789" if last.isdigit() else "ABCDEFGHJKLMNPRSTUVWXY"
    return value[:-1] + rng.choice([c for c in pool if c != last])


GENERATORS = {
    "ES_NIF": nif,
    "ES_NIE": nie,
    "IT_FISCAL_CODE": codice_fiscale,
    "PL_PESEL": pesel,
    "FI_PERSONAL_IDENTITY_CODE": hetu,
    "DE_TAX_ID": steuer_id,
}
NAMES = {"ES_NIF": "nif", "ES_NIE": "nie", "IT_FISCAL_CODE": "codice_fiscale", "PL_PESEL": "pesel",
         "FI_PERSONAL_IDENTITY_CODE": "hetu", "DE_TAX_ID": "steuer_id", "UK_NINO": "ni_number"}  # fmt: skip


@pytest.fixture(scope="module")
def identifiers() -> pd.DataFrame:
    rng = random.Random(2718)
    n = 400
    data = {NAMES[t]: [g(rng) for _ in range(n)] for t, g in GENERATORS.items()}
    data[NAMES["UK_NINO"]] = [nino(rng) for _ in range(n)]
    for t in ("ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "FI_PERSONAL_IDENTITY_CODE"):
        data[f"bad_{NAMES[t]}"] = [broken(v, rng) for v in data[NAMES[t]]]
    data["order_ref"] = [str(rng.randint(10**10, 10**11 - 1)) for _ in range(n)]  # random 11 digits
    return pd.DataFrame(data)


@pytest.mark.django_db
@pytest.mark.parametrize("hints", [True, False])
def test_european_national_identifiers_are_found_by_their_check_digits(identifiers: pd.DataFrame, hints: bool) -> None:
    found = {c.name: c.entity_types for c in scan_dataframe(identifiers, column_hints=hints).columns}
    expected = dict(GENERATORS) if hints else {t: g for t, g in GENERATORS.items() if t not in ("PL_PESEL", "DE_TAX_ID")}
    for entity in expected:
        assert entity in found[NAMES[entity]], (entity, found[NAMES[entity]])
    if hints:
        assert "UK_NINO" in found[NAMES["UK_NINO"]]
    for entity in ("ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "FI_PERSONAL_IDENTITY_CODE"):
        assert entity not in found[f"bad_{NAMES[entity]}"]
    assert not found["order_ref"] & {"PL_PESEL", "DE_TAX_ID"}


@pytest.mark.django_db
def test_eleven_digit_check_digit_ids_need_nearly_every_cell_without_a_name(identifiers: pd.DataFrame) -> None:
    """PESEL and Steuer-IdNr pass on ~10% of random numbers: unnamed, a column decides only when
    nearly every cell validates (and then it does)."""
    found = {c.name: c.entity_types for c in scan_dataframe(identifiers[["pesel", "order_ref"]], column_hints=False).columns}
    assert "PL_PESEL" in found["pesel"]
    assert found["order_ref"] == set()


@pytest.fixture(scope="module")
def eu_customers() -> pd.DataFrame:
    rng = random.Random(1618)
    streets = [
        lambda: f"{rng.randint(1, 199)}, {rng.choice(['rue', 'avenue', 'boulevard', 'impasse'])} {rng.choice(['Lemoine', 'Carpentier', 'des Lilas', 'Pasteur'])}",
        lambda: f"{rng.choice(['Via', 'Viale', 'Piazza', 'Vicolo'])} {rng.choice(['Garibaldi', 'Tosi', 'Marconi', 'Ferraris'])}, {rng.randint(1, 300)}",
        lambda: f"{rng.choice(['Calle', 'Paseo', 'Avenida', 'Plaza'])} de {rng.choice(['Lucía Prat', 'Goya', 'Cervantes'])} {rng.randint(1, 150)}",
        lambda: f"{rng.choice(['Linden', 'Birken', 'Schiller', 'Goethe'])}{rng.choice(['straße', 'weg', 'gasse', 'allee'])} {rng.randint(1, 120)}",
        lambda: f"{rng.choice(['Kerk', 'Molen', 'Dorps', 'Spoor'])}{rng.choice(['straat', 'laan', 'steeg', 'plein'])} {rng.randint(1, 220)}",
    ]  # fmt: skip
    postcodes = [
        lambda: f"{rng.randint(1000, 95999):05d}",
        lambda: f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}{rng.choice('ABCDEFGHJKLMNPRSTVWXYZ')}",
        lambda: f"D{rng.randint(1, 24):02d} {rng.choice('ACDEFHKNPRTVWXY')}{rng.randint(100, 999)}",
    ]
    n = 500
    return pd.DataFrame(
        {
            "k1": [f"K{i:06d}" for i in range(n)],
            "street": [rng.choice(streets)() for _ in range(n)],
            "postcode": [rng.choices(postcodes, weights=[6, 2, 1])[0]() for _ in range(n)],
            "country": [rng.choice(["FR", "IT", "ES", "DE", "NL", "IE"]) for _ in range(n)],
            "status": [rng.choice(["active", "lapsed", "new"]) for _ in range(n)],
        }
    )


@pytest.mark.django_db
@pytest.mark.parametrize("hints", [True, False])
def test_european_street_addresses_and_postcodes_are_locations(eu_customers: pd.DataFrame, hints: bool) -> None:
    found = {c.name: c.entity_types for c in scan_dataframe(eu_customers, column_hints=hints).columns}
    assert "LOCATION" in found["street"]
    assert "LOCATION" in found["postcode"] and "US_ZIP_CODE" not in found["postcode"]
    assert found["k1"] == set() and found["status"] == set()
    if hints:
        assert "LOCATION" in found["country"]  # ISO codes count under a country column only


# --- class 6: GDPR Art. 9 special categories ------------------------------------------------------


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = random.Random(1414)
    n = 500
    notes = ["Patient reports migraine since the weekend; prescribed 50 mg sumatriptan.", "Follow-up for type 2 diabetes, insulin adjusted.",
             "Seen for a persistent cough, chest x-ray booked.", "Annual review, blood pressure normal, no new symptoms."]  # fmt: skip
    return pd.DataFrame(
        {
            "ethnicity": [rng.choice(["White", "Black or African American", "Asian", "Hispanic or Latino", "Two or More Races",
                                      "American Indian or Alaska Native", "Other"]) for _ in range(n)],
            "g1": [rng.choice(["Hispanic or Latino", "Not Hispanic or Latino", "Black or African American", "White", "Asian"]) for _ in range(n)],
            "g2": [rng.choice(["Catholic", "Muslim", "Jewish", "Hindu", "Buddhist", "No religion", "Protestant", "Sikh"]) for _ in range(n)],
            "g3": [rng.choice(["Heterosexual", "Gay", "Lesbian", "Bisexual", "Asexual", "Pansexual"]) for _ in range(n)],
            "g4": [rng.choice(["E11.9", "I10", "J45.909", "M54.5", "F32.1", "K21.0", "N39.0", "R51"]) for _ in range(n)],
            "g5": [rng.choice(["UNISON", "Unite", "GMB", "IG Metall", "ver.di", "CGT", "CFDT", "Teamsters"]) for _ in range(n)],
            "visit_notes": [rng.choice(notes) for _ in range(n)],
            "is_union_member": [rng.random() < 0.3 for _ in range(n)],
            "fingerprint_template": [base64.b64encode(rng.randbytes(48)).decode() for _ in range(n)],
            "shade": [rng.choice(["White", "Black", "Gray", "Silver", "Navy"]) for _ in range(n)],
            "bin": [f"{rng.choice('ABCDEFGH')}{rng.randint(10, 99)}" for _ in range(n)],
        }
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("hints", [True, False])
def test_special_categories_are_suggested_from_values_citing_article_9(people: pd.DataFrame, hints: bool) -> None:
    result = scan_dataframe(people, column_hints=hints)
    expected = {"g1": "RACE_ETHNICITY", "g2": "RELIGION", "g3": "SEXUAL_ORIENTATION", "g4": "HEALTH_DATA",
                "g5": "TRADE_UNION", "visit_notes": "HEALTH_DATA"}  # fmt: skip
    if hints:
        expected["ethnicity"] = "RACE_ETHNICITY"
    for column, entity in expected.items():
        findings = {e.type: e for e in result.column(column).entities}
        assert entity in findings, (column, set(findings))
        assert findings[entity].evidence["article"].startswith("GDPR Art. 9(1)")
        assert findings[entity].evidence["suggested_from"] in ("values", "name and values")
    for column in ("shade", "bin"):
        special = {"RACE_ETHNICITY", "HEALTH_DATA"} & result.column(column).entity_types
        assert not special, (column, special)


@pytest.mark.django_db
def test_special_categories_are_suggested_from_the_column_name_alone_when_values_cannot_say(people: pd.DataFrame) -> None:
    result = scan_dataframe(people)
    union = {e.type: e for e in result.column("is_union_member").entities}
    biometric = {e.type: e for e in result.column("fingerprint_template").entities}
    assert union["TRADE_UNION"].evidence["suggested_from"] == "name"
    assert biometric["BIOMETRIC"].evidence["article"] == "GDPR Art. 9(1); Art. 4(14)"
    unnamed = scan_dataframe(people, column_hints=False)
    assert unnamed.column("is_union_member").entities == () and unnamed.column("fingerprint_template").entities == ()

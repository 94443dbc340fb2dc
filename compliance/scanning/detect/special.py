"""GDPR Art. 9 special categories suggested from column names and values (issue 13 class 6).

The entity types are those of the GDPR pack's Art. 9 categories (``compliance/policies/packs/
gdpr.json``): RACE_ETHNICITY, POLITICAL_OPINION, RELIGION, TRADE_UNION, GENETIC, BIOMETRIC,
HEALTH_DATA, SEXUAL_ORIENTATION. A finding of one of them is a *suggestion* for a steward, and its
evidence cites the article and says whether the column's name, its values, or both, suggested it.

Values: whole-cell vocabularies (US Census / ONS style ethnicity answers, religions, orientations,
trade unions), ICD-10 codes and health words in running text, rsIDs and genotypes. Words that are
also everyday values (``White``, ``Black``, ``Asian``, ``Other``, ``None``) count only beside an
unambiguous one or with the column name, see :func:`cell_hits`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ARTICLE = "GDPR Art. 9(1)"


@dataclass(frozen=True)
class Category:
    entity: str
    label: str
    article: str
    name_words: tuple[str, ...]


CATEGORIES = {
    c.entity: c
    for c in (
        Category("RACE_ETHNICITY", "racial or ethnic origin", ARTICLE,
                 ("ethnicity", "ethnic", "race", "ethnicorigin", "ethnicgroup", "racialorigin", "ancestry")),
        Category("POLITICAL_OPINION", "political opinions", ARTICLE,
                 ("political", "politics", "partyaffiliation", "partymembership", "votingintention", "politicalparty")),
        Category("RELIGION", "religious or philosophical beliefs", ARTICLE,
                 ("religion", "religious", "faith", "denomination", "religiousaffiliation", "religiousbelief")),
        Category("TRADE_UNION", "trade-union membership", ARTICLE,
                 ("unionmember", "unionmembership", "tradeunion", "unionized", "unionised", "unioncode", "labourunion",
                  "laborunion", "unionname", "unionaffiliation")),
        Category("GENETIC", "genetic data", "GDPR Art. 9(1); Art. 4(13)",
                 ("genetic", "genotype", "dna", "snp", "rsid", "allele", "genome", "genomic", "brca")),
        Category("BIOMETRIC", "biometric data for unique identification", "GDPR Art. 9(1); Art. 4(14)",
                 ("biometric", "biometrics", "fingerprint", "faceprint", "faceembedding", "facetemplate", "irisscan", "retina",
                  "voiceprint", "palmprint", "facialgeometry", "faceid", "facevector")),
        Category("HEALTH_DATA", "data concerning health", "GDPR Art. 9(1); Art. 4(15)",
                 ("diagnosis", "diagnoses", "icd", "icd10", "diagnosiscode", "allergy", "allergies", "medicalcondition",
                  "medication", "medications", "prescription", "disability", "bloodtype", "hiv", "pregnant",
                  "pregnancy", "symptom", "symptoms", "illness", "disease", "vaccination", "vaccinated", "bmi",
                  "mentalhealth", "sicknote", "sickleave", "comorbidity", "healthstatus", "medicalhistory")),
        Category("SEXUAL_ORIENTATION", "sex life or sexual orientation", ARTICLE,
                 ("sexualorientation", "sexuality", "lgbt", "lgbtq", "lgbtqi")),
    )
}  # fmt: skip

_ETHNICITY = {
    "hispanic or latino", "not hispanic or latino", "black or african american", "african american",
    "american indian or alaska native", "native hawaiian or other pacific islander", "two or more races",
    "asian american", "caucasian", "hispanic", "latino", "latina", "latinx", "mixed", "mixed race", "multiracial",
    "white british", "white irish", "white other", "black british", "black african", "black caribbean",
    "asian british", "british asian", "indian", "pakistani", "bangladeshi", "chinese", "arab", "roma", "romani",
    "traveller", "gypsy or irish traveller", "aboriginal", "first nations", "inuit", "métis", "maori",
    "pacific islander", "middle eastern", "north african", "sub-saharan african", "afro-caribbean", "kurdish",
}  # fmt: skip
_ETHNICITY_AMBIGUOUS = {"white", "black", "asian", "other", "prefer not to say", "unknown", "declined", "none"}
_RELIGION = {
    "christian", "christianity", "catholic", "roman catholic", "protestant", "orthodox", "anglican", "baptist",
    "methodist", "lutheran", "presbyterian", "evangelical", "mormon", "jehovah's witness", "muslim", "islam",
    "sunni", "shia", "jewish", "judaism", "hindu", "hinduism", "buddhist", "buddhism", "sikh", "sikhism", "jain",
    "atheist", "agnostic", "taoist", "shinto", "bahai", "bahá'í", "pagan", "no religion", "humanist",
    "spiritual but not religious", "zoroastrian", "rastafarian",
}  # fmt: skip
_ORIENTATION = {
    "heterosexual", "straight", "gay", "lesbian", "bisexual", "asexual", "pansexual", "queer", "homosexual",
    "gay or lesbian", "heterosexual or straight", "questioning",
}  # fmt: skip
_UNIONS = {
    "unison", "unite", "gmb", "teamsters", "seiu", "afl-cio", "afscme", "uaw", "nea", "aft", "ig metall", "ver.di",
    "verdi", "cgt", "cfdt", "fo", "cgil", "cisl", "uil", "ugt", "ccoo", "fnv", "cnv", "ictu", "siptu", "tuc",
    "union member", "union-member", "non-union", "member of a trade union", "trade union member",
}  # fmt: skip
_POLITICAL = {
    "democrat", "democratic", "republican", "libertarian", "green party", "labour", "conservative", "tory",
    "liberal democrat", "socialist", "communist", "social democrat", "christian democrat", "independent voter",
    "spd", "cdu", "csu", "afd", "fdp", "psoe", "pp", "vox", "podemos", "pd", "lega", "m5s", "rn", "lfi", "snp",
}  # fmt: skip
ICD10 = re.compile(r"^[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?$")
RSID = re.compile(r"^rs\d{3,10}$", re.I)
GENOTYPE = re.compile(r"^[ACGT]{2}$|^[ACGT]/[ACGT]$")
HEALTH_WORDS = re.compile(
    r"\b(diagnos(?:is|ed|es)|symptoms?|fever|headaches?|migraines?|fatigue|nausea|pain|prescribed|prescription|"
    r"medication|dosage|\d+\s?mg|allerg(?:y|ic|ies)|diabet(?:es|ic)|asthma|hypertension|cancer|tumou?r|"
    r"chemotherapy|pregnan(?:t|cy)|depression|anxiety|hiv|surgery|therapy|treatment plan|blood pressure|"
    r"imaging|x-ray|mri|biopsy|infection|antibiotics?|insulin|seizures?|dementia|stroke|fracture|rash|cough|"
    r"physiotherapy|cardiology|oncology|neurology|dermatology|psychiatry|psychiatric|radiology|lab results|"
    r"current dose|blood test|wheelchair|disabilit(?:y|ies)|inhaler|vaccin(?:e|ated|ation))\b",
    re.I,
)

WHOLE = {
    "RACE_ETHNICITY": _ETHNICITY,
    "RELIGION": _RELIGION,
    "SEXUAL_ORIENTATION": _ORIENTATION,
    "TRADE_UNION": _UNIONS,
    "POLITICAL_OPINION": _POLITICAL,
}
RECOGNIZER = "SpecialCategoryRecognizer"


def name_categories(tokens: set[str]) -> set[str]:
    """Art. 9 entity types a column name suggests (``tokens`` from decision.name_tokens)."""
    return {entity for entity, c in CATEGORIES.items() if tokens & set(c.name_words)}


def cell_hits(value: str, *, text: bool) -> list[tuple[str, float]]:
    """(entity, score) of the special categories one cell shows. Ambiguous ethnicity words score 0.3
    (weak: they count only with the column name or beside unambiguous answers)."""
    if text:
        return [("HEALTH_DATA", 0.6)] if HEALTH_WORDS.search(value) else []
    v = " ".join(value.lower().split())
    out = [(entity, 0.7) for entity, terms in WHOLE.items() if v in terms]
    if v in _ETHNICITY_AMBIGUOUS:
        out.append(("RACE_ETHNICITY", 0.3))
    if ICD10.match(value.strip()):
        # "M43.7", "E119": a code; a bare letter and two digits ("B12") is as often a shelf or a seat
        out.append(("HEALTH_DATA", 0.6 if len(value.strip()) > 3 else 0.3))
    if RSID.match(value.strip()) or GENOTYPE.match(value.strip()):
        out.append(("GENETIC", 0.6))
    return out

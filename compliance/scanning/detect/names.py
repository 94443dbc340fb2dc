"""People's names without a large NER model: a census name gazetteer, context words, the row's own
identifiers. Each span says which signal found it (the recognizer name), so a finding is explainable.

The gazetteer is the US Census Bureau's 1990 name frequency lists (public domain) as shipped by the
``names`` package (MIT, pinned): 5,163 first names and 88,799 surnames with their rank. Only the
surnames covering most of the population (rank <= :data:`SURNAME_RANK`) count on their own: the
long tail holds ordinary words (``Patient``, ``Left``, ``City``). Tokens are compared accent-folded
and upper-cased (``Wójcik`` -> ``WOJCIK``).

Signals, strongest first (score in brackets):

* ``RowIdentifierRecognizer`` (0.95 whole, 0.75 a part): a value of the row's own name column(s)
  found in its free text -- the table itself says who the row is about;
* ``NameContextRecognizer`` (0.85): a capitalised run after a title (``Dr.``, ``Mrs``), or (0.7)
  next to a context word (``spoke with``, ``left voicemail for``, ``... reports``) when one of its
  tokens is a census first name or common surname;
* ``NameGazetteerRecognizer`` (0.85): a capitalised run of 2-4 tokens that starts with a census
  first name and ends with a common surname (``Dewey Park``), not a known place.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable

SURNAME_RANK = 25_000
TITLES = {"DR", "MR", "MRS", "MS", "MISS", "MX", "PROF", "SIR", "DAME", "PAN", "PANI", "HERR", "FRAU", "MME", "MLLE", "SR", "SRA"}
SUFFIXES = {"JR", "SR", "II", "III", "IV", "MD", "PHD", "DDS", "RN", "MBA", "BSC", "MSC", "BA", "MA", "ESQ", "DVM", "DO"}
PARTICLES = {"van", "de", "der", "den", "von", "da", "di", "del", "della", "la", "le", "du", "dos", "das", "ter", "ten", "y"}
# First names that are also ordinary capitalised words at the start of a sentence ("Will call back",
# "May need a refill", "Mark the account"): at a sentence start they need a context word too.
COMMON_WORDS = {
    "WILL", "MAY", "MARK", "BILL", "HOPE", "JUNE", "APRIL", "AUGUST", "ROSE", "ART", "GRANT", "JOY", "FAITH",
    "CHANCE", "CHASE", "DEAN", "DALE", "GLEN", "LANE", "LONG", "MAJOR", "MASON", "MILES", "NORMAN", "PAGE",
    "PARK", "PAT", "PEARL", "PENNY", "RAY", "REED", "ROBIN", "ROY", "SAGE", "SHELBY", "STERLING", "SUMMER",
    "TRUE", "WARD", "WELLS", "WEST", "WHITE", "YOUNG", "KING", "BROWN", "GREEN", "BLACK", "NEW", "SAINT",
    "CHRISTIAN", "LOUIS", "CAROL", "DAWN", "EBONY", "IVORY", "IRIS", "LILY", "VIOLET", "HAZEL", "HOLLY",
    "IVY", "GOLDIE", "STORMY", "SUNNY", "CHRISTMAS", "EASTER", "SUE", "DOT", "MIDGE", "FERN", "CLEMENTINE",
}  # fmt: skip
# Words just before a name. Strong ones make any 2-3 capitalised tokens a name (``spoke with Juliusz
# Piaścik``); weak ones ("to", "from", "by") need a census token in the run too.
STRONG_BEFORE = re.compile(
    r"\b(escalated to|assigned to|transferred to|forwarded to|handed to|handed over to|passed to|referred to|"
    r"spoke with|speaking with|talked to|talked with|voicemail for|message for|per|told|asked|contacted|cc|attn|"
    r"patient|customer|member|client|caller|mother|father|wife|husband|son|daughter|spouse|partner|guardian|dear|hi|"
    r"hello|thanks|thank you|visited|saw|met|emailed|messaged|notified|informed|named|name is|called)\W*$",
    re.I,
)
PART_CONTEXT = re.compile(
    r"\b(pt|patient|client|customer|member|mr|mrs|ms|mx|dr|miss|for|with|per|told|called|by|to|from|cc|attn|re)\.?:?\s+$"
)
BEFORE = re.compile(r"\b(for|with|to|by|from|of|and|see|seen|referred|signed|approved|is|'s)\W*$", re.I)
LEAD_WORDS = {"PER", "THANKS", "DEAR", "HI", "HELLO", "TOLD", "CALLED", "ASKED", "CONTACTED", "CC", "ATTN", "PATIENT",
              "CUSTOMER", "MEMBER", "CLIENT", "CALLER", "SPOKE", "EMAILED", "MESSAGED", "NOTIFIED", "INFORMED"}  # fmt: skip
AFTER = re.compile(
    r"^\W{0,2}\s*(reports?|reported|said|says|called|calls|will|would|confirmed|confirms|asked|asks|wrote|writes|"
    r"states?|stated|denies|denied|complains?|complained|requested|requests|agreed|agrees|is|was|has|had|needs|"
    r"wants|prefers|presented|presents|arrived|declined|missed|cancell?ed|rescheduled|came|phoned|emailed)\b",
    re.I,
)
# Titles and degrees in the forms people and Faker's locales write them ("Sig.ra", "Dipl.-Ing.",
# "pan", "B.Eng."): blanked before the runs are built (offsets kept); a run right after a title is titled.
TITLE_FORMS = re.compile(
    r"(?<![\w.])(?:Sig\.ra|Sig\.na|Sig\.|Dott\.ssa|Dott\.|Dr\.\s?med\.|Dipl\.-[A-Z][a-z]+\.|Univ\.-?Prof\.|"
    r"Prof\.|Ing\.|Mag\.|Mgr|pan|pani|dhr\.|mevr\.|Herr|Frau|Mme|Mlle|Mrs?\.?|Ms\.?|Mx\.?|Dr\.?|Miss|Sr\.|Sra\.|Srta\.|"
    r"Don|Doña|Dña\.|Mag\.)(?=\s)"
)
DEGREE_FORMS = re.compile(
    r"(?<=\s)(?:B\.\s?(?:A|Sc|Eng|Ed|Ed)\.|M\.\s?(?:A|Sc|Eng|Ed)\.|Ph\.?\s?D\.?|M\.?D\.|MBA\.?|MSc\.?|BSc\.?|"
    r"Jr\.|Sr\.|Dipl\.-[A-Z][a-z]+\.)(?=[\s,;.]|$)"
)
TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?(?:-[^\W\d_]+(?:['’][^\W\d_]+)?)*\.?")
SENTENCE_END = re.compile(r"(^|[.!?:;\n]\s*|[\"“(]\s*)$")
ORGISH = re.compile(
    r"\b(LLC|Inc|Ltd|PLC|Corp|Company|Group|GmbH|AG|Bank|University|Hospital|Clinic|Foundation|Team|Department|"
    r"Dept|Services|Support|Center|Centre|Office|Street|Avenue|Road|Drive|Court|County|City|State|Desk|Billing)\b\.?$"
)


# Words of departments and queues, never of a name ("Escalated to Tier Two", "Sent to Accounts Payable").
THINGS = {"TIER", "LEVEL", "QUEUE", "TEAM", "DESK", "SUPPORT", "BILLING", "FINANCE", "SALES", "LEGAL", "ACCOUNTS",
          "MANAGEMENT", "OPERATIONS", "DISPATCH", "WAREHOUSE", "SECURITY", "PHARMACY", "RADIOLOGY", "CARDIOLOGY",
          "ONCOLOGY", "TRIAGE", "RECEPTION", "PAYABLE", "RECEIVABLE", "COMPLIANCE", "MARKETING", "ENGINEERING",
          "PAYROLL", "HR", "IT", "QA", "ONE", "TWO", "THREE", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY",
          "FRIDAY", "SATURDAY", "SUNDAY", "JANUARY", "FEBRUARY", "MARCH", "OCTOBER", "NOVEMBER", "DECEMBER"}  # fmt: skip


@functools.lru_cache(maxsize=1 << 16)
def fold(token: str) -> str:
    """Upper-case ASCII form of a name token: accents dropped, trailing dot and apostrophes removed.
    Cached (a pure function of the token; tokens repeat across the cells and columns of a scan)."""
    decomposed = unicodedata.normalize("NFKD", token)
    ascii_ = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z-]", "", ascii_.replace("ł", "l").replace("Ł", "L")).upper()


def _load(filename: str) -> dict[str, int]:
    import names as census  # the package carries the Census lists as text files

    ranks: dict[str, int] = {}
    path = os.path.join(os.path.dirname(census.__file__), filename)
    with open(path, encoding="ascii") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 4:
                ranks.setdefault(parts[0], int(parts[3]))
    return ranks


@functools.lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    return frozenset(_load("dist.female.first")) | frozenset(_load("dist.male.first"))


@functools.lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    """Common surnames only (rank <= SURNAME_RANK); see the module docstring."""
    return frozenset(name for name, rank in _load("dist.all.last").items() if rank <= SURNAME_RANK)


def _is_first(token: str) -> bool:
    folded = fold(token)
    return folded in first_names() or any(part in first_names() for part in folded.split("-") if part)


def _is_last(token: str) -> bool:
    folded = fold(token)
    return folded in surnames() or ("-" in folded and all(part in surnames() for part in folded.split("-") if part))


def _core(tokens: list[str]) -> list[str]:
    """Name tokens without leading titles, trailing suffixes and particles."""
    out = [t for t in tokens if t not in PARTICLES]
    while out and fold(out[0]) in TITLES:
        out = out[1:]
    while out and fold(out[-1]).replace("-", "") in SUFFIXES:
        out = out[:-1]
    return out


def value_support(value: str) -> str:
    """How the gazetteer supports a short structured value: ``full`` (census first name ... common
    surname), ``first`` or ``last`` (one token that is one), or ``""``."""
    tokens = _core(value.replace(",", " ").split())
    if not tokens or len(tokens) > 5 or not all(t[:1].isupper() for t in tokens):
        return ""
    if len(tokens) == 1:
        if _is_first(tokens[0]):
            return "first"
        return "last" if _is_last(tokens[0]) else ""
    if "," in value and _is_last(tokens[0]) and _is_first(tokens[1]):
        return "full"  # "Olsen, Marta"
    if _is_first(tokens[0]) and (_is_last(tokens[-1]) or _is_first(tokens[-1]) and len(tokens) > 2):
        return "full"
    return ""


def starts_with_first_name(value: str) -> bool:
    """Whether a short value's first name token is a census first name (``Marta ...``, ``Olsen, Marta``)."""
    if "," in value:
        tokens = _core(value.split(",", 1)[1].split())
    else:
        tokens = _core(value.split())
    return bool(tokens) and tokens[0][:1].isupper() and _is_first(tokens[0])


def _runs(text: str) -> list[list[tuple[int, int, str]]]:
    """Runs of capitalised tokens separated by single spaces (particles allowed inside)."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    last_end = -1
    for m in TOKEN.finditer(text):
        word = m.group(0)
        capital = word[:1].isupper()
        joined = current and text[last_end : m.start()] in (" ", "  ") and text[last_end - 1 : last_end] != ","
        if capital or (word in PARTICLES and current):
            if current and not joined:
                runs.append(current)
                current = []
            current.append((m.start(), m.end(), word))
            last_end = m.end()
            if word.endswith(".") and fold(word) not in TITLES and len(word) > 2:
                runs.append(current)  # "... Smith." ends the run
                current = []
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [run for run in runs if run]


def _is_word_char(c: str) -> bool:
    """``re``'s ``\\w`` for one character of a ``str`` (Unicode letters and digits, and ``_``)."""
    return c.isalnum() or c == "_"


def _word_occurrences(needle: str, haystack: str) -> list[tuple[int, int]]:
    """The (start, end) of every non-overlapping occurrence of ``needle`` in ``haystack`` not inside
    a longer word: what ``re.finditer(r"(?<!\\w)" + re.escape(needle) + r"(?!\\w)", haystack)`` finds,
    without compiling a pattern per row name (``re``'s 512-entry cache cannot hold a table's names,
    so every row paid a compilation)."""
    found: list[tuple[int, int]] = []
    if not needle:
        return found
    n, i = len(needle), haystack.find(needle)
    while i >= 0:
        end = i + n
        if (i == 0 or not _is_word_char(haystack[i - 1])) and (end == len(haystack) or not _is_word_char(haystack[end])):
            found.append((i, end))
            i = haystack.find(needle, end)
        else:
            i = haystack.find(needle, i + 1)
    return found


def person_spans(text: str, known: Iterable[str] = (), places: Iterable[str] = ()) -> list[tuple[str, str, float, int, int]]:
    """PERSON spans in free text as raw (entity, recognizer, score, start, end) tuples."""
    spans: list[tuple[str, str, float, int, int]] = []
    lower = text.lower()
    seen_known: set[str] = set()
    for name in known:
        name = " ".join(str(name).split())
        if len(name) < 3 or name.lower() in seen_known:
            continue
        seen_known.add(name.lower())
        for start, end in _word_occurrences(name.lower(), lower):
            spans.append(("PERSON", "RowIdentifierRecognizer", 0.95, start, end))
        parts = [p for p in _core(name.replace(",", " ").split()) if len(p.strip(".")) >= 3]
        if len(parts) >= 2:
            for part in parts:
                # a part alone: capitalised as written ("Olsen"), or in any case right after a
                # context word ("pt olsen", "per olsen") -- "price agreed" is not Emily Price
                for start, end in _word_occurrences(part.lower(), lower):
                    written = text[start:end]
                    if written[:1].isupper() or (len(part) >= 3 and PART_CONTEXT.search(lower[max(0, start - 25) : start])):
                        spans.append(("PERSON", "RowIdentifierRecognizer", 0.75, start, end))
    place_set = ({p.lower() for p in places} | _places()) if places else _places()  # no copy per text
    title_ends = set()
    masked = text
    for m in TITLE_FORMS.finditer(text):
        title_ends.add(m.end())
    masked = DEGREE_FORMS.sub(lambda m: " " * len(m.group()), TITLE_FORMS.sub(lambda m: " " * len(m.group()), text))
    for run in _runs(masked):
        prefix = masked[: run[0][0]]
        after_title = len(prefix.rstrip()) < len(prefix) and any(
            len(prefix) - e <= 3 and not prefix[e:].strip() for e in title_ends if e <= len(prefix)
        )
        words = [w for _s, _e, w in run]
        at_start = SENTENCE_END.search(masked[: run[0][0]]) is not None
        strong = False
        titles = [i for i, w in enumerate(words) if fold(w) in TITLES and len(w) <= 5]
        titled = bool(titles) or after_title
        if titles:
            run = run[titles[-1] + 1 :]  # "Per Mrs. Françoise Gauthier": the name follows the title
        elif at_start and fold(words[0]) in LEAD_WORDS:
            run, strong = run[1:], True  # "Per Marta Olsen, ...", "Thanks Marta"
        words = [w for _s, _e, w in run]
        core = _core(words)
        if not core or len(core) > 4:
            continue
        first_i = words.index(core[0])
        last_i = len(words) - 1 - words[::-1].index(core[-1])
        start, end = run[first_i][0], run[last_i][1]
        if text[end - 1 : end] == "." and fold(core[-1]).replace("-", "") not in SUFFIXES:
            end -= 1
        phrase = text[start:end]
        if not core or len(words) == 0:
            continue
        if phrase.lower() in place_set or ORGISH.search(phrase) or _placeish(core) or any(fold(t) in THINGS for t in core):
            continue
        at_start = at_start and not titled and not strong and start == run[0][0]
        before = masked[max(0, run[0][0] - 40) : run[0][0]]
        after = masked[run[-1][1] : run[-1][1] + 30]
        strong = strong or bool(STRONG_BEFORE.search(before) or AFTER.search(after))
        context = strong or bool(BEFORE.search(before))
        if titled and len(core) <= 3:
            spans.append(("PERSON", "NameContextRecognizer", 0.85, start, end))
            continue
        if len(core) < 2:
            # one census name with a context word: "Moore complains of ...", "seen with Okafor"
            if strong and (_is_last(core[0]) or _is_first(core[0])) and fold(core[0]) not in COMMON_WORDS:
                spans.append(("PERSON", "NameContextRecognizer", 0.6, start, end))
            continue
        first_ok, last_ok = _is_first(core[0]), _is_last(core[-1])
        common_start = at_start and fold(core[0]) in COMMON_WORDS
        if first_ok and last_ok and (not common_start or context):
            spans.append(("PERSON", "NameGazetteerRecognizer", 0.85, start, end))
        elif context and (first_ok or last_ok) and not (common_start and not last_ok):
            spans.append(("PERSON", "NameContextRecognizer", 0.7, start, end))
        elif strong and len(core) <= 3 and not common_start:
            spans.append(("PERSON", "NameContextRecognizer", 0.6, start, end))
    return spans


def preload() -> None:
    """Load the census lists and the place words now (the engine does, at start)."""
    first_names()
    surnames()
    _places()


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    from compliance.scanning import gazetteer

    return frozenset(p.lower() for p in gazetteer.PLACES)


def _placeish(core: list[str]) -> bool:
    from compliance.scanning.detect.places import place_shape

    return place_shape(" ".join(core))

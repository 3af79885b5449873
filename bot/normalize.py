"""Vietnamese text normalisation shared by the matcher and the knowledge validator.

Cadres type without diacritics, with chat abbreviations and with Telex leftovers, so
everything is compared in a *folded* form (no diacritics, đ→d, lower case) after the
abbreviations from `knowledge/synonyms.yaml` are expanded. Document numbers and years
("51/2025", "18.1", "2016-2020") survive as single tokens so they can weigh heavily.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# Zero-width and bidi control characters that some keyboards and copy-paste insert.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"), " "
)
_YEAR_RANGE = re.compile(r"(?<!\d)((?:19|20)\d\d)\s*[-–—~]\s*((?:19|20)\d\d)(?!\d)")
_SHORT_RANGE = re.compile(r"(?<![\d/.])((?:19|20)\d\d)\s*[-–—]\s*(\d\d)(?![\d/.])")
_GLUED = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_TOKEN = re.compile(r"\d+(?:[./-]\d+)*|[^\W\d_]+")
_NUMBER = re.compile(r"\d")
# Old-style tone placement ("hoà", "thuỷ") written the new way ("hòa", "thủy"), so both
# spellings compare equal in the accented form. Works on NFD text; "qu" is a consonant.
_OLD_TONE = re.compile(r"(?<!q)([ou])([aey])([\u0300\u0301\u0303\u0309\u0323])(?![^\W\d_])")


def fold(text: str) -> str:
    """Strip Vietnamese diacritics: 'Tiêu chí đạt' -> 'Tieu chi dat'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clean(text: str) -> str:
    """NFC, lower case, invisible characters removed, year ranges canonical ('2016-2020')."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).lower()
    text = unicodedata.normalize(
        "NFC", _OLD_TONE.sub(r"\1\3\2", unicodedata.normalize("NFD", text))
    )
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = text.replace("%", " phần trăm ")
    text = _YEAR_RANGE.sub(r"\1-\2", text)
    text = _SHORT_RANGE.sub(lambda m: f"{m[1]}-{m[1][:2]}{m[2]}", text)
    return _GLUED.sub(" ", text)


def tokenize(text: str) -> list[str]:
    """Words and number tokens of an already cleaned text; punctuation is dropped."""
    return [_canonical_number(t) if _NUMBER.search(t) else t for t in _TOKEN.findall(text)]


def _canonical_number(token: str) -> str:
    """Dates and numbers written with or without leading zeros compare equal:
    '01/07/2025' and '1/7/2025' are one token, so are '05/2022' and '5/2022'."""
    if "/" not in token:
        return token
    return "/".join(
        p.lstrip("0") or "0" if p.isdigit() and len(p) <= 2 else p for p in token.split("/")
    )


def is_number(token: str) -> bool:
    return bool(_NUMBER.search(token))


# Telex: doubled vowels and 'w' mark the vowel, a trailing s/f/r/x/j marks the tone.
_TELEX_VOWEL = re.compile(r"(aa|ee|oo|dd|aw|ow|uw)")
_TELEX_TONE = re.compile(r"(?<=[aeiouy])[sfrxj]$|(?<=[aeiouy][a-z])[sfrxj]$")


def telex_fold(token: str) -> str:
    """Folded reading of a token typed with Telex leftovers: 'tieeu' -> 'tieu', 'chis' -> 'chi'."""
    token = _TELEX_VOWEL.sub(lambda m: m[0][0], token)
    return _TELEX_TONE.sub("", token)


@dataclass(frozen=True)
class Lexicon:
    """Abbreviations (folded phrase -> folded expansion), fillers to drop, stopwords."""

    abbreviations: Mapping[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    fillers: frozenset[tuple[str, ...]] = frozenset()
    stopwords: frozenset[str] = frozenset()  # folded single words that weigh little
    longest: int = 1

    @classmethod
    def build(
        cls, abbreviations: Mapping[str, str], fillers: Iterable[str], stopwords: Iterable[str] = ()
    ) -> Lexicon:
        abbr = {
            tuple(_fold_tokens(key)): tuple(_fold_tokens(value))
            for key, value in abbreviations.items()
        }
        fill = frozenset(tuple(_fold_tokens(f)) for f in fillers)
        # A stopword phrase ("bao nhiêu") is expanded like an abbreviation, so it is
        # enough to mark each of its words.
        stop = frozenset(w for s in stopwords for w in _fold_tokens(s))
        keys = [*abbr, *fill]
        return cls(abbr, fill, stop, max((len(k) for k in keys), default=1))

    def expand(self, tokens: Sequence[str]) -> list[str]:
        """Expand abbreviations and drop fillers, longest phrase first."""
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self.longest, len(tokens) - i), 0, -1):
                phrase = tuple(tokens[i : i + size])
                if phrase in self.fillers:
                    i += size
                    break
                if phrase in self.abbreviations:
                    out.extend(self.abbreviations[phrase])
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out


def _fold_tokens(text: str) -> list[str]:
    return tokenize(fold(clean(text)))


@dataclass(frozen=True)
class Normalized:
    """A text in the forms the matcher compares."""

    accented: str  # cleaned, with diacritics, punctuation dropped
    folded: str  # the same without diacritics
    tokens: tuple[str, ...]  # folded tokens after abbreviation expansion and filler removal

    @property
    def numbers(self) -> frozenset[str]:
        return frozenset(t for t in self.tokens if is_number(t))


@lru_cache(maxsize=65536)
def _fold_token(token: str) -> str:
    return fold(token)


def normalize(text: str, lexicon: Lexicon | None = None) -> Normalized:
    cleaned = clean(text)
    accented_tokens = tokenize(cleaned)
    folded_tokens = [_fold_token(t) for t in accented_tokens]
    tokens = lexicon.expand(folded_tokens) if lexicon else folded_tokens
    return Normalized(" ".join(accented_tokens), " ".join(folded_tokens), tuple(tokens))

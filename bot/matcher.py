"""Find the FAQ entry a question asks for, and know when none does.

The index is built once per knowledge base. A query is normalised (bot.normalize), its
unknown words are corrected against the index vocabulary (Telex leftovers, then one or
two typos), and every phrasing that shares a word with it is scored by weighted term
overlap (rare words count more than "xã" or "là gì"). The best few entries are then
re-scored with rapidfuzz's `token_sort_ratio` and checked for contradicting numbers
("2016-2020" asked, only "2021-2025" known). The final score is 0-100.

Decision, with the cut-offs from `MatchingConfig`:
- ``answer``: best score >= answer_threshold and ahead of the runner-up by >= margin;
- ``suggest``: best score >= suggest_threshold (the bot offers up to 3 candidates);
- ``none``: otherwise, the bot says it has no answer.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.config import MatchingConfig
from bot.knowledge import Knowledge
from bot.normalize import is_number, normalize, telex_fold

Decision = Literal["answer", "suggest", "none"]

# Weights of the final score's parts; they add up to 1.
_W_PHRASING = 0.55  # weighted overlap with the best single phrasing
_W_ENTRY = 0.25  # share of the query's weight found anywhere in the entry
_W_FUZZY = 0.20  # rapidfuzz token_sort_ratio with the best phrasing
_RERANK = 25  # entries re-scored with rapidfuzz
_CONTRADICTION = 0.6  # factor for an entry whose numbers contradict the query's
_NUMBER_PARTS = re.compile(r"[./-]")
_COMPOUND = _NUMBER_PARTS  # a number with parts: a document, range or indicator


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float
    question: str


@dataclass(frozen=True)
class Match:
    question: str
    decision: Decision
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def id(self) -> str | None:
        return self.best.id if self.decision == "answer" and self.best else None

    @property
    def score(self) -> float:
        return self.best.score if self.best else 0.0

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates[:3] if self.decision == "suggest" else ()


@dataclass(frozen=True)
class _Phrasing:
    entry_id: str
    tokens: frozenset[str]
    text: str  # folded tokens joined, for rapidfuzz
    weight: float


def number_parts(token: str) -> list[str]:
    """'51/2025' -> ['51/2025', '51', '2025']: a compound number also matches its parts."""
    parts = [p for p in _NUMBER_PARTS.split(token) if p]
    return [token, *parts] if len(parts) > 1 else [token]


def _number_shape(token: str) -> str:
    return re.sub(r"\d+", "9", token)


class Matcher:
    def __init__(self, knowledge: Knowledge, config: MatchingConfig | None = None) -> None:
        self.knowledge = knowledge
        self.config = config or MatchingConfig()
        lexicon = knowledge.lexicon
        phrasing_tokens: list[tuple[str, list[str]]] = []
        entry_tokens: dict[str, set[str]] = defaultdict(set)
        self._numbers: dict[str, frozenset[str]] = {}
        for entry in knowledge.entries.values():
            numbers: set[str] = set()
            for text in entry.phrasings:
                tokens = _expand_numbers(normalize(text, lexicon).tokens)
                phrasing_tokens.append((entry.id, tokens))
                entry_tokens[entry.id].update(tokens)
            for text in (*entry.phrasings, *entry.tags, *(s.doc for s in entry.sources)):
                numbers.update(t for t in normalize(text, lexicon).tokens if is_number(t))
            self._numbers[entry.id] = frozenset(numbers)

        n = len(entry_tokens)
        df: dict[str, int] = defaultdict(int)
        for tokens in entry_tokens.values():
            for token in tokens:
                df[token] += 1
        self._idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}
        self._unknown_weight = math.log((n + 1) / 0.5)
        self._entry_tokens = {e: frozenset(t) for e, t in entry_tokens.items()}
        self._phrasings = [
            _Phrasing(e, frozenset(t), " ".join(t), sum(self._idf[x] for x in set(t)))
            for e, t in phrasing_tokens
        ]
        self._by_entry: dict[str, list[_Phrasing]] = defaultdict(list)
        for phrasing in self._phrasings:
            self._by_entry[phrasing.entry_id].append(phrasing)
        self._postings: dict[str, list[int]] = defaultdict(list)
        for index, phrasing in enumerate(self._phrasings):
            for token in phrasing.tokens:
                self._postings[token].append(index)
        self._vocabulary = sorted(t for t in df if not is_number(t))
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)

    # --- query -----------------------------------------------------------------------

    def match(self, question: str, limit: int = 5) -> Match:
        tokens = self.query_tokens(question)
        if not tokens:
            return Match(question, "none", ())
        weights = {t: self._idf.get(t, self._unknown_weight) for t in tokens}
        total = sum(weights.values())
        best_overlap: dict[str, float] = {}
        accumulated: dict[int, float] = defaultdict(float)
        for token, weight in weights.items():
            for index in self._postings.get(token, ()):
                accumulated[index] += weight
        for index, matched in accumulated.items():
            phrasing = self._phrasings[index]
            recall, precision = matched / total, matched / phrasing.weight
            score = 2 * recall * precision / (recall + precision)
            if score > best_overlap.get(phrasing.entry_id, 0.0):
                best_overlap[phrasing.entry_id] = score
        shortlist = sorted(best_overlap, key=best_overlap.__getitem__, reverse=True)[:_RERANK]
        query_text = " ".join(tokens)
        query_numbers = frozenset(t for t in tokens if is_number(t) and _COMPOUND.search(t))
        scored = []
        for entry_id in shortlist:
            entry_recall = (
                sum(w for t, w in weights.items() if t in self._entry_tokens[entry_id]) / total
            )
            fuzzy = max(
                (fuzz.token_sort_ratio(query_text, p.text) for p in self._by_entry[entry_id]),
                default=0.0,
            )
            score = 100 * (
                _W_PHRASING * best_overlap[entry_id]
                + _W_ENTRY * entry_recall
                + _W_FUZZY * fuzzy / 100
            )
            if self._contradicts(query_numbers, entry_id):
                score *= _CONTRADICTION
            scored.append((round(score, 1), entry_id))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        candidates = tuple(
            Candidate(entry_id, score, self.knowledge.entries[entry_id].question)
            for score, entry_id in scored[:limit]
        )
        return Match(question, self._decide(candidates), candidates)

    def query_tokens(self, question: str) -> list[str]:
        """The query's folded, expanded, corrected tokens, without repeats."""
        raw = normalize(question[:2000], self.knowledge.lexicon).tokens
        tokens = [self._correct(t) for t in raw]
        return list(dict.fromkeys(_expand_numbers(tokens)))

    # --- helpers ---------------------------------------------------------------------

    def _decide(self, candidates: tuple[Candidate, ...]) -> Decision:
        if not candidates:
            return "none"
        best = candidates[0].score
        runner_up = candidates[1].score if len(candidates) > 1 else 0.0
        if best >= self.config.answer_threshold and best - runner_up >= self.config.margin:
            return "answer"
        if best >= self.config.suggest_threshold:
            return "suggest"
        return "none"

    def _contradicts(self, query_numbers: frozenset[str], entry_id: str) -> bool:
        """A compound number asked for that the entry lacks while it has others of that shape."""
        entry_numbers = self._numbers[entry_id]
        for number in query_numbers:
            if number in entry_numbers:
                continue
            shape = _number_shape(number)
            if any(_number_shape(n) == shape for n in entry_numbers):
                return True
        return False

    def _correct_uncached(self, token: str) -> str:
        if token in self._idf or is_number(token) or len(token) < 3:
            return token
        telex = telex_fold(token)
        if telex in self._idf:
            return telex
        cutoff = 1 if len(token) < 7 else 2
        found = process.extractOne(
            token, self._vocabulary, scorer=Levenshtein.distance, score_cutoff=cutoff
        )
        return found[0] if found and len(token) >= 4 else token


def _expand_numbers(tokens: Iterable[str]) -> list[str]:
    out: list[str] = []
    for token in tokens:
        out.extend(number_parts(token) if is_number(token) else [token])
    return out

"""Find the FAQ entry a question asks for, and know when none does.

The index is built once per knowledge base. A query is normalised (bot.normalize), its
unknown words are corrected against the index vocabulary (Telex leftovers, then typos
in longer words), and split into features: words, parts of compound numbers, and
adjacent word pairs (Vietnamese words are often two syllables). Features are weighted
by rarity (idf), question words and particles weigh a quarter.

Every phrasing is scored at once (numpy over postings arrays) by weighted overlap with
the query; the best 12 entries are then re-scored by four parts, weighted to a 0-100
score: the overlap with the entry's best phrasing, the share of the query's weight the
entry knows (its answer's words count 0.3), the cosine with the entry's profile, and
rapidfuzz's `token_sort_ratio` with its closest phrasing. An entry whose document
numbers, ranges or indicators contradict the query's ("2016-2020" asked, only
"2021-2025" known) loses 40%. For a question that names no year, range, document number
or "cũ" (it is about what applies today), a superseded best entry gives way to a
successor in force that scores at most 20 lower, and superseded entries are no rivals of
a best entry in force.

Decision, with the cut-offs from `MatchingConfig`:
- ``answer``: best score >= answer_threshold and ahead of the runner-up by >= margin
  (candidates that give the same answer are not each other's runner-up),
  or (a clear winner of a wordy question) >= clear_threshold and ahead by >= clear_margin;
- ``suggest``: best score >= suggest_threshold (the bot offers up to 3 candidates);
- ``none``: otherwise, the bot says it has no answer.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.actions import KIN
from bot.config import MatchingConfig
from bot.knowledge import Entry, Knowledge
from bot.normalize import is_number, normalize, telex_fold
from bot.telegram_html import to_plain

Decision = Literal["answer", "suggest", "none"]

# Weights of the final score's parts; they add up to 1.
_W_PHRASING = 0.45  # weighted overlap (F1) with the entry's best single phrasing
_W_ENTRY = 0.20  # share of the query's weight found in the entry's phrasings
_W_COSINE = 0.20  # cosine between the query and the entry's profile
_W_FUZZY = 0.15  # rapidfuzz token_sort_ratio with the best phrasing
_W_BODY = 0.3  # a query word found only in the entry's answer counts this much
_RERANK = 12  # entries re-scored in full (the first stage puts the right one well within)
_CONTRADICTION = 0.6  # factor for an entry whose numbers contradict the query's
# An undated question asks about today: a rule in force that replaced the best (superseded)
# entry comes first when it scores at most this much lower.
_SUCCESSOR_LEAD = 20.0
# Words that send a question to an older period without a number: "bộ tiêu chí cũ".
_PAST = frozenset({"cu", "truoc day", "truoc kia", "giai doan truoc", "ngay truoc"})
_MIN_IDF = 0.05
_STOPWORD_FACTOR = 0.25  # how much a question word or particle counts
# Shorter words are left alone: "chon" is a word (chọn), not a typo of "cho".
_TYPO_MIN_LENGTH = 5
_QUERY_LIMIT = 2000  # characters of a message that are read
_NUMBER_PARTS = re.compile(r"[./-]")
_COMPOUND = _NUMBER_PARTS  # a number with parts: a document, range or indicator


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float
    question: str
    is_action: bool = False  # an action of the assistant (knowledge.actions), not an FAQ entry


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
        self._stopwords = knowledge.lexicon.stopwords
        # Targets: the FAQ entries, then the assistant's actions, ranked alike.
        targets = [
            (e.id, e.question, e.phrasings, _body(e), (*e.tags, *(s.doc for s in e.sources)))
            for e in knowledge.entries.values()
        ]
        targets += [(a.id, a.question, a.phrasings, "", ()) for a in knowledge.actions.values()]
        self._entry_ids = [target[0] for target in targets]
        self._questions = {target[0]: target[1] for target in targets}
        self._successors = {
            e.id: frozenset(e.superseded_by) for e in knowledge.entries.values() if e.superseded_by
        }
        phrasing_features: list[list[str]] = []  # in target order: a target's are adjacent
        phrasing_entry: list[int] = []
        self._numbers: dict[str, frozenset[str]] = {}
        # Words of an entry's answer and tags: weaker evidence than its phrasings.
        self._body: dict[str, frozenset[str]] = {}
        for position, (target_id, _, phrasings, body, cited) in enumerate(targets):
            self._body[target_id] = frozenset(self._features(self._normalize(body)))
            numbers: set[str] = set()
            for text in phrasings:
                tokens = self._normalize(text)
                numbers.update(t for t in tokens if is_number(t))
                phrasing_features.append(self._features(tokens))
                phrasing_entry.append(position)
            for text in cited:
                numbers.update(t for t in self._normalize(text) if is_number(t))
            self._numbers[target_id] = frozenset(numbers)

        grouped: dict[int, list[list[str]]] = defaultdict(list)
        for position, features in zip(phrasing_entry, phrasing_features, strict=True):
            grouped[position].append(features)
        # Rarity over every target, on the scale of the FAQ alone: adding actions leaves
        # the weight of a word no action uses as it was, and lowers the words they share.
        n = len(knowledge.entries)
        df: dict[str, int] = defaultdict(int)
        for lists in grouped.values():
            for feature in {f for features in lists for f in features}:
                df[feature] += 1
        # (a word in more targets than there are entries still weighs a little, never less)
        self._idf = {f: max(math.log((n + 1) / (c + 0.5)), _MIN_IDF) for f, c in df.items()}
        self._unknown_weight = math.log((n + 1) / 0.5)
        self._known = frozenset(f for lists in grouped.values() for fs in lists for f in fs)

        # Each entry's profile: a feature's weight times the share of the entry's
        # phrasings that use it, so the words an entry is really about dominate.
        self._profiles: dict[str, dict[str, float]] = {}
        self._norms: dict[str, float] = {}
        # Per entry, its phrasings' words sorted: token_sort_ratio is ratio of sorted words,
        # and sorting once here spares rapidfuzz re-splitting every phrasing per query.
        self._sorted_texts: dict[str, list[str]] = {}
        for position, lists in grouped.items():
            entry_id = self._entry_ids[position]
            counts: dict[str, int] = defaultdict(int)
            for features in lists:
                for feature in features:
                    counts[feature] += 1
            profile = {f: self._weight(f) * c / len(lists) for f, c in counts.items()}
            self._profiles[entry_id] = profile
            self._norms[entry_id] = math.sqrt(sum(v * v for v in profile.values()))
            self._sorted_texts[entry_id] = [_sorted_words(f) for f in lists]

        # The first stage scores every phrasing at once: postings as index arrays.
        postings: dict[str, list[int]] = defaultdict(list)
        for index, features in enumerate(phrasing_features):
            for feature in features:
                postings[feature].append(index)
        self._postings = {f: np.array(p, dtype=np.int32) for f, p in postings.items()}
        self._phrasing_weight = np.array([self._total(f) for f in phrasing_features])
        self._phrasing_entry = np.array(phrasing_entry, dtype=np.int32)
        self._entry_starts = np.searchsorted(self._phrasing_entry, np.arange(len(self._entry_ids)))
        self._vocabulary = sorted(f for f in self._known if " " not in f and not is_number(f))
        self._correct = lru_cache(maxsize=4096)(self._correct_uncached)

    # --- query -----------------------------------------------------------------------

    def match(self, question: str, limit: int = 5, exclude: frozenset[str] = frozenset()) -> Match:
        """The best targets for `question`; `exclude`: ids never to answer with (an action
        the sender may not run), left out before the decision."""
        tokens = self.query_tokens(question)
        if not tokens:
            return Match(question, "none", ())
        # A word pair the index has never seen is no evidence either way; an unknown
        # single word is, and weighs like the rarest word.
        features = [f for f in self._features(tokens) if " " not in f or f in self._known]
        weights = {f: self._weight(f) for f in features}
        total = sum(weights.values())
        best_overlap = self._best_overlaps(weights, total)
        shortlist = np.flatnonzero(best_overlap)
        if len(shortlist) > _RERANK:
            top = np.argpartition(-best_overlap[shortlist], _RERANK)[:_RERANK]
            shortlist = shortlist[top]
        query_text = _sorted_words(tokens)
        query_numbers = frozenset(t for t in tokens if is_number(t) and _COMPOUND.search(t))
        undated = not self._dated(tokens, features)
        query_norm = math.sqrt(sum(w * w for w in weights.values()))
        scored = []
        asked = weights.keys()
        for position in shortlist:
            entry_id = self._entry_ids[position]
            profile = self._profiles[entry_id]
            known = asked & profile.keys()  # set operations: the loops below stay short
            cosine = sum(weights[f] * profile[f] for f in known) / (
                query_norm * self._norms[entry_id]
            )
            in_body = (asked - known) & self._body[entry_id]
            found = sum(weights[f] for f in known) + _W_BODY * sum(weights[f] for f in in_body)
            _, fuzzy, _ = process.extractOne(
                query_text, self._sorted_texts[entry_id], scorer=fuzz.ratio, processor=None
            )
            score = 100 * (
                _W_PHRASING * float(best_overlap[position])
                + _W_ENTRY * found / total
                + _W_COSINE * cosine
                + _W_FUZZY * fuzzy / 100
            )
            if self._contradicts(query_numbers, entry_id):
                score *= _CONTRADICTION
            scored.append((round(score, 1), entry_id))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        displaced = self._current_first(scored) if undated else None
        if displaced is not None:
            scored = [scored[displaced], *scored[:displaced], *scored[displaced + 1 :]]
        allowed = [(score, target) for score, target in scored if target not in exclude]
        candidates = tuple(
            Candidate(target, score, self._questions[target], target in self.knowledge.actions)
            for score, target in allowed[:limit]
        )
        # An undated question is about today: a rule that has ended (the one that gave
        # way to its successor too) is no rival of one in force ("tc 9" is criterion 9
        # of the set in force, not the old set's).
        in_force = undated and bool(scored) and scored[0][1] not in self._successors
        not_rivals = self._successors.keys() if in_force else set()
        return Match(question, self._decide(candidates, not_rivals=not_rivals), candidates)

    def decide(self, candidates: tuple[Candidate, ...]) -> Decision:
        """The decision for candidates in this order (the cut-offs of `MatchingConfig`)."""
        return self._decide(candidates)

    def asks_nothing(self, question: str) -> bool:
        """Only question words and particles ("sao", "gì vậy"): nothing to look for."""
        return all(t in self._stopwords for t in self.query_tokens(question))

    def query_tokens(self, question: str) -> list[str]:
        """The query's folded, expanded and corrected words."""
        return [self._correct(t) for t in self._normalize(question[:_QUERY_LIMIT])]

    # --- helpers ---------------------------------------------------------------------

    def _best_overlaps(self, weights: dict[str, float], total: float) -> np.ndarray:
        """Per entry, the weighted overlap (F1) of the query with its best phrasing.

        F1 of recall m/T and precision m/W (m matched weight, T the query's, W the
        phrasing's) is 2m / (T + W).
        """
        found = [(self._postings[f], w) for f, w in weights.items() if f in self._postings]
        if not found:
            return np.zeros(len(self._entry_ids))
        postings, feature_weights = zip(*found, strict=True)
        lengths = [len(p) for p in postings]
        matched = np.bincount(
            np.concatenate(postings),
            weights=np.repeat(feature_weights, lengths),
            minlength=len(self._phrasing_weight),
        )
        # In place, and the factor 2 after the per-entry maximum: the same values, computed
        # over the entries instead of over every phrasing.
        matched /= total + self._phrasing_weight
        best = np.maximum.reduceat(matched, self._entry_starts)
        best *= 2
        return best

    def _normalize(self, text: str) -> tuple[str, ...]:
        return normalize(text, self.knowledge.lexicon).tokens

    def _features(self, tokens: Iterable[str]) -> list[str]:
        """Words, the parts of compound numbers, and adjacent word pairs.

        Vietnamese words are often two syllables ("cán bộ", "đại học"); without
        diacritics a single syllable is ambiguous ("can" is cán or cần), the pair is not.
        """
        tokens = list(tokens)
        features = [p for t in tokens for p in (number_parts(t) if is_number(t) else [t])]
        for a, b in itertools.pairwise(tokens):
            if not (a in self._stopwords and b in self._stopwords):
                features.append(f"{a} {b}")
        return list(dict.fromkeys(features))

    def _weight(self, feature: str) -> float:
        weight = self._idf.get(feature, self._unknown_weight)
        if any(word in self._stopwords for word in feature.split(" ")):
            weight *= _STOPWORD_FACTOR
        return weight

    def _total(self, features: Iterable[str]) -> float:
        return sum(self._weight(f) for f in set(features))

    def _decide(
        self, candidates: tuple[Candidate, ...], not_rivals: Collection[str] = ()
    ) -> Decision:
        if not candidates:
            return "none"
        best = candidates[0].score
        # A how-to entry and the action it explains give the same answer: not rivals.
        rivals = [
            c
            for c in candidates[1:]
            if c.id not in not_rivals and not self._agree(candidates[0].id, c.id)
        ]
        runner_up = rivals[0].score if rivals else 0.0
        lead = best - runner_up
        config = self.config
        if (best >= config.answer_threshold and lead >= config.margin) or (
            best >= config.clear_threshold and lead >= config.clear_margin
        ):
            return "answer"
        if best >= self.config.suggest_threshold:
            return "suggest"
        return "none"

    def _current_first(self, scored: list[tuple[float, str]]) -> int | None:
        """Where the close successor in force of a superseded best entry stands, if any."""
        if not scored or scored[0][1] not in self._successors:
            return None
        best_score, best = scored[0]
        for position, (score, target) in enumerate(scored[1:4], 1):
            if target in self._successors[best] and best_score - score <= _SUCCESSOR_LEAD:
                return position
        return None

    def dated(self, question: str) -> bool:
        """The question names a period: a year, a range, a document number, or "cũ"."""
        tokens = self.query_tokens(question)
        return self._dated(tokens, self._features(tokens))

    @staticmethod
    def _dated(tokens: list[str], features: list[str]) -> bool:
        numbered = any(is_number(t) and (_COMPOUND.search(t) or len(t) >= 3) for t in tokens)
        return numbered or any(f in _PAST for f in features)

    def _agree(self, a: str, b: str) -> bool:
        """Two candidates that give the same answer: a how-to entry and its action, or
        actions that show the same thing (bot.actions.KIN)."""
        entries = self.knowledge.entries
        return (
            (a in entries and b in entries[a].actions)
            or (b in entries and a in entries[b].actions)
            or any({a, b} <= kin for kin in KIN)
        )

    def _contradicts(self, query_numbers: frozenset[str], entry_id: str) -> bool:
        """A compound number asked for that the entry lacks while it has others of that shape."""
        entry_numbers = self._numbers[entry_id]
        for number in query_numbers:
            # "619/2017" cites the document an entry knows as "619/QĐ-TTg": same number.
            if number in entry_numbers or ("/" in number and number.split("/")[0] in entry_numbers):
                continue
            shape = _number_shape(number)
            if any(_number_shape(n) == shape for n in entry_numbers):
                return True
        return False

    def _correct_uncached(self, token: str) -> str:
        if token in self._known or is_number(token) or len(token) < 3:
            return token
        telex = telex_fold(token)
        if telex in self._known:
            return telex
        if len(token) < _TYPO_MIN_LENGTH:
            return token
        cutoff = 1 if len(token) < 8 else 2
        found = process.extractOne(
            token, self._vocabulary, scorer=Levenshtein.distance, score_cutoff=cutoff
        )
        return found[0] if found else token


def _body(entry: Entry) -> str:
    return " ".join((to_plain(entry.answer), to_plain(entry.details or ""), *entry.tags))


def _sorted_words(features: Iterable[str]) -> str:
    """The single words among `features`, sorted and joined: what token_sort_ratio compares."""
    return " ".join(sorted(f for f in features if " " not in f))

"""Politeness around a question is not the question.

Cadres open and close messages with thanks, greetings and polite particles ("Dạ cho em
hỏi…", "…cảm ơn ad ạ"). `strip` takes them off both ends so the router matches what is
asked, and says whether the message thanked, greeted, and looks like a question at all.
The phrases come from the `courtesy` section of `knowledge/actions.yaml`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from bot.normalize import clean, fold, is_number, tokenize

Phrase = tuple[str, ...]


def fold_words(text: str) -> list[str]:
    return tokenize(fold(clean(text)))


@dataclass(frozen=True)
class Courtesy:
    thanks: frozenset[Phrase] = frozenset()
    greetings: frozenset[Phrase] = frozenset()
    polite: frozenset[Phrase] = frozenset()  # particles and forms of address: "dạ", "ad ơi"
    questions: frozenset[Phrase] = frozenset()  # words that make a message a question or request
    personal: frozenset[Phrase] = frozenset()  # words by which it speaks of oneself: "xã mình"

    @cached_property
    def longest(self) -> int:
        phrases = (*self.thanks, *self.greetings, *self.polite)
        return max((len(p) for p in phrases), default=1)

    @classmethod
    def build(
        cls,
        thanks: Iterable[str],
        greetings: Iterable[str],
        polite: Iterable[str],
        questions: Iterable[str],
        personal: Iterable[str] = (),
    ) -> Courtesy:
        groups = (thanks, greetings, polite, questions, personal)
        return cls(*(frozenset(tuple(fold_words(p)) for p in g) for g in groups))


@dataclass(frozen=True)
class Stripped:
    core: str  # the message without the courtesy at its ends (folded words)
    thanked: bool
    greeted: bool
    asks: bool  # a question mark, a question word or a number: it asks for something
    personal: bool  # what remains speaks of the sender: "xã em", "tôi còn thiếu gì"

    @property
    def social(self) -> bool:
        """Nothing but courtesy: a thank-you, a greeting, a polite 'dạ vâng'."""
        return not self.core


def strip(text: str, courtesy: Courtesy) -> Stripped:
    words = fold_words(text)
    thanked = greeted = False
    start, end = 0, len(words)
    changed = True
    while changed and start < end:
        changed = False
        for at_start in (True, False):
            for size in range(min(courtesy.longest, end - start), 0, -1):
                phrase = tuple(words[start : start + size] if at_start else words[end - size : end])
                kind = _kind(phrase, courtesy)
                if kind is None:
                    continue
                thanked |= kind == "thanks"
                greeted |= kind == "greetings"
                if at_start:
                    start += size
                else:
                    end -= size
                changed = True
                break
    core = words[start:end]
    asks = "?" in text or any(is_number(w) for w in core) or _contains(words, courtesy.questions)
    personal = _contains(core, courtesy.personal)
    return Stripped(" ".join(core), thanked, greeted, asks, personal)


def _kind(phrase: Phrase, courtesy: Courtesy) -> str | None:
    for kind in ("thanks", "greetings", "polite"):
        if phrase in getattr(courtesy, kind):
            return kind
    return None


def _contains(words: list[str], phrases: frozenset[Phrase]) -> bool:
    sizes = {len(p) for p in phrases}
    return any(tuple(words[i : i + size]) in phrases for size in sizes for i in range(len(words)))

"""What a typed message wants: an action of the assistant, an FAQ answer, or neither.

One step for every message. A keyboard label typed in any form is its action. Otherwise
the courtesy around the message is taken off (bot.courtesy) and what remains is ranked
by the matcher against the FAQ entries and the actions alike (the phrasings of
`knowledge/actions.yaml`), with the same cut-offs. Coordinator-only actions are left out
for everyone else before the decision, so a cadre is never routed to them.

Nothing here knows Telegram or the database: the assistant runs what the route names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from bot.actions import ACTIONS, COORDINATOR_ONLY, OWN_DATA, SOCIAL
from bot.courtesy import fold_words, strip
from bot.knowledge import Knowledge
from bot.matcher import Candidate, Match, Matcher

RouteKind = Literal["action", "answer", "suggest", "none"]
# How far behind the best candidate an action (or entry) may be and still win because the
# message does (or does not) speak of the sender's own data. Chosen on the development sets.
PERSON_LEAD = 12.0


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    target: str | None  # the action or entry id ("action", "answer")
    match: Match | None = None  # the ranking, when the matcher was asked

    @property
    def social(self) -> bool:
        """A thank-you, a greeting or small talk: answered kindly, never stored as unanswered."""
        return self.kind == "action" and self.target in SOCIAL


# Nothing to look for: no words, or only question words. Answered with an invitation to
# ask, never stored as unanswered.
EMPTY = Route("none", None)


class Router:
    def __init__(self, knowledge: Knowledge, matcher: Matcher) -> None:
        self.knowledge = knowledge
        self.matcher = matcher
        # A keyboard label or a command name typed as a message, in any form; not the
        # coordinators' commands, whose names are ordinary words ("thông báo").
        typed = [s for s in ACTIONS if not s.coordinator]
        self._labels = {_label_key(s.label): s for s in typed if s.label}
        self._labels |= {_label_key(s.command): s for s in typed if s.command}

    def route(self, text: str, coordinator: bool = False) -> Route:
        labelled = self._labels.get(_label_key(text))
        if labelled:
            return Route("action", labelled.id)
        stripped = strip(text, self.knowledge.courtesy)
        polite = stripped.thanked or stripped.greeted
        # Nothing left to look for ("dạ vâng ạ", "sao?", "được rồi, cảm ơn nhé").
        if stripped.social or self.matcher.asks_nothing(stripped.core):
            return Route("action", _social(stripped.thanked, stripped.greeted)) if polite else EMPTY
        match = self.matcher.match(
            stripped.core, exclude=frozenset() if coordinator else COORDINATOR_ONLY
        )
        # "Xin trân trọng cảm ơn trợ lý đã hỗ trợ": thanks around words that match nothing.
        if polite and not stripped.asks and match.decision == "none":
            return Route("action", _social(stripped.thanked, stripped.greeted), match)
        best = match.best
        if best is not None and match.decision != "none":
            chosen = self._by_person(match, stripped.personal)
            if chosen is not best:
                return self._preferred(match, chosen)
        if match.decision == "answer" or (match.decision == "suggest" and best.id in SOCIAL):
            return Route("action" if best.is_action else "answer", best.id, match)
        return Route(match.decision, None, match)

    def _preferred(self, match: Match, chosen: Candidate) -> Route:
        """The candidate the person rule chose, answered only if it clears the cut-offs
        against the others; else a suggestion that offers it first."""
        rest = tuple(c for c in match.candidates if c is not chosen and c is not match.best)
        if self.matcher.decide((chosen, *rest)) == "answer":
            return Route("action" if chosen.is_action else "answer", chosen.id, match)
        offered = replace(match, decision="suggest", candidates=(chosen, match.best, *rest))
        return Route("suggest", None, offered)

    def _by_person(self, match: Match, personal: bool) -> Candidate:
        """Between an FAQ entry and an action close behind it, who the message speaks of
        decides: "xã em đạt bao nhiêu tiêu chí" is the sender's commune, "xã đạt bao nhiêu
        tiêu chí thì được công nhận" is the rule."""
        best = match.best
        wanted = (
            (lambda c: c.is_action and c.id not in SOCIAL)
            if personal
            else (lambda c: not c.is_action)
        )
        if wanted(best) or (not personal and best.id not in OWN_DATA):
            return best
        close = [c for c in match.candidates[1:3] if best.score - c.score <= PERSON_LEAD]
        return next((c for c in close if wanted(c)), best)

    def suggestions(self, match: Match) -> list[str]:
        """The ids a suggestion offers: up to three, never small talk."""
        return [c.id for c in match.candidates if c.id not in SOCIAL][:3]


def _social(thanked: bool, greeted: bool) -> str:
    return "chao" if greeted and not thanked else "camon"


def _label_key(text: str) -> str:
    """A label as typed: emoji, punctuation, spaces, case and diacritics do not count."""
    return "".join(fold_words(text))

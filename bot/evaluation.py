"""`ntm-bot eval`: how well the matcher answers a labelled question set, beside baselines.

An undated question answered with the rule in force that replaced the labelled (now
superseded) entry counts as right; a second line gives the figures by the labels alone.

Each system sees the same knowledge and gives, per question, a decision (answer or
not) and a ranked list of entry ids. The figures:

- answered correctly / wrongly: share of in-scope questions (``expect`` not empty)
  answered with a listed / an unlisted entry;
- top-3: share of in-scope questions with a listed entry among the first three;
- out-of-scope declined: share of questions with ``expect: []`` left unanswered
  (a suggestion is not an answer; "none" and "suggest" both count as declined).

The baselines get the best threshold for them on the same questions, chosen after the
fact, which flatters them: plain rapidfuzz (`process.extractOne`, WRatio, raw text) and
BM25 (bm25s) over lower-cased syllables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from bot.knowledge import Knowledge
from bot.matcher import Matcher
from bot.normalize import clean, tokenize
from bot.routing import Router


@dataclass(frozen=True)
class Question:
    text: str
    expect: frozenset[str]


@dataclass(frozen=True)
class Ranked:
    """One system's view of one question: entry ids best first, with scores."""

    ids: tuple[str, ...]
    scores: tuple[float, ...]
    answered: bool = False


@dataclass(frozen=True)
class Figures:
    name: str
    correct: float
    wrong: float
    top3: float
    declined: float
    note: str = ""


def load_questions(path: Path) -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Question(str(q["q"]), frozenset(q.get("expect") or ())) for q in data["questions"]]


def figures(
    name: str, questions: Sequence[Question], ranked: Sequence[Ranked], note: str = ""
) -> Figures:
    in_scope = [(q, r) for q, r in zip(questions, ranked, strict=True) if q.expect]
    out_scope = [r for q, r in zip(questions, ranked, strict=True) if not q.expect]
    correct = sum(r.answered and r.ids[0] in q.expect for q, r in in_scope)
    wrong = sum(r.answered and r.ids[0] not in q.expect for q, r in in_scope)
    top3 = sum(bool(q.expect & set(r.ids[:3])) for q, r in in_scope)
    declined = sum(not r.answered for r in out_scope)
    return Figures(
        name,
        _pct(correct, len(in_scope)),
        _pct(wrong, len(in_scope)),
        _pct(top3, len(in_scope)),
        _pct(declined, len(out_scope)),
        note,
    )


def evaluate(
    knowledge: Knowledge, matcher: Matcher, questions: Sequence[Question]
) -> list[Figures]:
    """Ours as a cadre meets it: through the router, so an action that does what an
    expected entry explains (the entry's `action`) is a right answer, and small talk is
    not an answer."""
    router = Router(knowledge, matcher)
    ours = []
    for question in questions:
        route = router.route(question.text)
        candidates = route.match.candidates if route.match else ()
        ids = tuple(c.id for c in candidates) or (route.target,)
        answered = route.kind in ("answer", "action") and not route.social
        ours.append(Ranked(ids, tuple(c.score for c in candidates), answered))
    labelled = [_with_actions(q, knowledge) for q in questions]
    current = [_with_successors(q, knowledge, matcher) for q in labelled]
    results = [
        figures("Trợ lý NTM", current, ours),
        figures("  theo nhãn gốc", labelled, ours, note="không tính quy định hiện hành thay"),
    ]
    for name, system in (
        ("rapidfuzz WRatio", _rapidfuzz_baseline),
        ("BM25 (bm25s)", _bm25_baseline),
    ):
        results.append(_with_best_threshold(name, questions, system(knowledge, questions)))
    return results


def format_table(results: Sequence[Figures], total: int, in_scope: int) -> str:
    lines = [
        f"{total} câu hỏi, {in_scope} trong phạm vi, {total - in_scope} ngoài phạm vi",
        "",
        f"{'hệ thống':<24} {'đúng':>7} {'sai':>7} {'top-3':>7} {'từ chối':>8}",
    ]
    for f in results:
        lines.append(
            f"{f.name:<24} {f.correct:6.1f}% {f.wrong:6.1f}% {f.top3:6.1f}% {f.declined:7.1f}%"
            + (f"  ({f.note})" if f.note else "")
        )
    lines += [
        "",
        "đúng / sai: trả lời thẳng đúng / sai mục (% câu trong phạm vi); top-3: mục đúng nằm",
        "trong 3 ứng viên đầu; từ chối: câu ngoài phạm vi không bị trả lời (% câu ngoài phạm vi).",
    ]
    return "\n".join(lines)


def _with_successors(question: Question, knowledge: Knowledge, matcher: Matcher) -> Question:
    """An undated question is about today: the rule in force that replaced a labelled
    (superseded) entry is a right answer too."""
    if matcher.dated(question.text):
        return question
    entries = knowledge.entries
    successors = {s for e in question.expect if e in entries for s in entries[e].superseded_by}
    return Question(question.text, question.expect | successors)


def _with_actions(question: Question, knowledge: Knowledge) -> Question:
    actions = {
        a for e in question.expect if e in knowledge.entries for a in knowledge.entries[e].actions
    }
    return Question(question.text, question.expect | actions)


# --- routing words to actions ---------------------------------------------------------

SOCIAL_LABELS = frozenset({"thanks", "greeting", "chitchat"})  # any social reply is right


@dataclass(frozen=True)
class Message:
    text: str
    expect: str  # an action id, or faq / thanks / greeting / chitchat
    coordinator: bool = False


@dataclass(frozen=True)
class RoutingFigures:
    actions: int  # messages that ask for an action
    right: int  # routed to that action
    one_tap: int  # not, but the action is one tap away: first suggestion, or its how-to entry
    wrong: int  # routed to another action or answered from the FAQ
    faq: int  # messages that ask about the rules
    faq_kept: int  # ... not routed to any action
    social: int  # thanks, greetings, small talk
    social_right: int  # ... answered as such (never stored as unanswered)


def load_messages(path: Path) -> list[Message]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Message(str(m["q"]), str(m["expect"]), m.get("role") == "coordinator")
        for m in data["messages"]
    ]


def evaluate_routing(router: Router, messages: Sequence[Message]) -> RoutingFigures:
    counts = dict.fromkeys(RoutingFigures.__dataclass_fields__, 0)
    entries = router.knowledge.entries
    for message in messages:
        route = router.route(message.text, coordinator=message.coordinator)
        acted = route.target if route.kind == "action" else None
        if message.expect == "faq":
            counts["faq"] += 1
            counts["faq_kept"] += acted is None
        elif message.expect in SOCIAL_LABELS:
            counts["social"] += 1
            counts["social_right"] += route.social
        else:
            counts["actions"] += 1
            suggested = route.kind == "suggest" and router.suggestions(route.match)[:1]
            how_to = route.kind == "answer" and message.expect in entries[route.target].actions
            if acted == message.expect:
                counts["right"] += 1
            elif suggested == [message.expect] or how_to:
                counts["one_tap"] += 1
            elif route.kind in ("action", "answer"):
                counts["wrong"] += 1
    return RoutingFigures(**counts)


def format_routing(figures: RoutingFigures) -> str:
    f = figures
    return "\n".join(
        [
            f"{f.actions} tin nhắn nhờ làm một việc, {f.faq} câu hỏi quy định, "
            f"{f.social} lời chào, cảm ơn, chuyện ngoài lề",
            "",
            f"đúng việc:                 {_pct(f.right, f.actions):5.1f}%",
            f"cách một chạm:             {_pct(f.one_tap, f.actions):5.1f}%"
            "  (gợi ý đầu tiên, hoặc trang hướng dẫn có nút của việc đó)",
            f"sai việc hoặc trả lời FAQ: {_pct(f.wrong, f.actions):5.1f}%",
            f"câu hỏi quy định không bị dẫn sang việc: {_pct(f.faq_kept, f.faq):5.1f}%",
            f"lời chào, cảm ơn, ngoài lề được đáp đúng: {_pct(f.social_right, f.social):5.1f}%",
        ]
    )


# --- baselines ------------------------------------------------------------------------


def _rapidfuzz_baseline(knowledge: Knowledge, questions: Sequence[Question]) -> list[Ranked]:
    choices, owners = _phrasings(knowledge)
    ranked = []
    for question in questions:
        hits = process.extract(question.text, choices, scorer=fuzz.WRatio, limit=50)
        ranked.append(_dedupe([(owners[i], score) for _, score, i in hits]))
    return ranked


def _bm25_baseline(knowledge: Knowledge, questions: Sequence[Question]) -> list[Ranked]:
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
    ids = list(knowledge.entries)
    corpus = [[t for p in knowledge.entries[i].phrasings for t in tokenize(clean(p))] for i in ids]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    ranked = []
    for question in questions:
        scores = retriever.get_scores(tokenize(clean(question.text)))
        order = sorted(range(len(ids)), key=lambda k: -scores[k])[:10]
        ranked.append(Ranked(tuple(ids[k] for k in order), tuple(float(scores[k]) for k in order)))
    return ranked


def _with_best_threshold(
    name: str, questions: Sequence[Question], ranked: Sequence[Ranked]
) -> Figures:
    """Answer when the top score reaches a threshold, the one best for this baseline."""

    def at(threshold: float) -> list[Ranked]:
        return [
            Ranked(r.ids, r.scores, bool(r.scores) and r.scores[0] >= threshold) for r in ranked
        ]

    def quality(threshold: float) -> tuple[float, float]:
        f = figures(name, questions, at(threshold))
        return (f.correct - f.wrong + f.declined, -threshold)

    thresholds = sorted({r.scores[0] for r in ranked if r.scores} | {float("inf")})
    best = max(thresholds, key=quality)
    return figures(name, questions, at(best), note=f"ngưỡng tốt nhất {best:.2f}")


def _phrasings(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    choices, owners = [], []
    for entry in knowledge.entries.values():
        for phrasing in entry.phrasings:
            choices.append(phrasing)
            owners.append(entry.id)
    return choices, owners


def _dedupe(hits: list[tuple[str, float]]) -> Ranked:
    seen: dict[str, float] = {}
    for entry_id, score in hits:
        seen.setdefault(entry_id, score)
    return Ranked(tuple(seen), tuple(seen.values()))


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0

"""Learning from use, measured: the development questions that get a suggestion list with
the right entry in it are "picked" and accepted as phrasings (as /hoclai would accept them),
on a copy of the bundled knowledge; every evaluation set is scored before and after.

    python bench/learning_bench.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.evaluation import evaluate, load_questions
from bot.knowledge import Knowledge, load_knowledge
from bot.knowledge_edit import EditError, add_phrasing
from bot.matcher import Matcher
from bot.routing import Router

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev-questions.yaml"
SETS = (
    DEV,
    ROOT / "tests" / "fixtures" / "heldout-questions.yaml",
    ROOT / "tests" / "fixtures" / "heldout-new-topics.yaml",
)


def scores(knowledge: Knowledge) -> str:
    matcher = Matcher(knowledge)
    parts = []
    for path in SETS:
        f = evaluate(knowledge, matcher, load_questions(path))[0]
        parts.append(
            f"{path.stem}: {f.correct:.1f} / {f.wrong:.1f} / {f.top3:.1f} / {f.declined:.1f}"
        )
    return "\n  ".join(parts)


def main() -> None:
    directory = Path(tempfile.mkdtemp()) / "knowledge"
    shutil.copytree(BUNDLED_KNOWLEDGE_DIR, directory)
    knowledge = load_knowledge(directory)
    print("before (right / wrong / top-3 / declined):\n  " + scores(knowledge))
    router = Router(knowledge, Matcher(knowledge))
    picks = []
    for question in load_questions(DEV):
        route = router.route(question.text)
        if route.kind == "suggest":
            right = [t for t in router.suggestions(route.match) if t in question.expect]
            if right:
                picks.append((question.text, right[0]))
    accepted = 0
    for text, entry_id in picks:
        try:
            knowledge = add_phrasing(directory, entry_id, text)
            accepted += 1
        except EditError as exc:
            print(f"refused: {exc}")
    print(f"picked {len(picks)}, accepted {accepted}")
    print("after:\n  " + scores(knowledge))
    shutil.rmtree(directory.parent)


if __name__ == "__main__":
    main()

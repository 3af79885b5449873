"""How long an answer's first message is on a phone: visible characters of each entry's
rendered first message (answer, period, short legal basis), as Telegram shows it.

    python bench/answer_length.py [KNOWLEDGE_DIR] [--list]
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.knowledge import load_knowledge, render_answer
from bot.telegram_html import visible_length


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    knowledge = load_knowledge(Path(args[0]) if args else BUNDLED_KNOWLEDGE_DIR)
    lengths = {e.id: visible_length(render_answer(e)) for e in knowledge.entries.values()}
    values = sorted(lengths.values())
    print(f"entries: {len(values)}")
    print(
        f"first message, visible characters: median {statistics.median(values):.0f}, "
        f"p90 {values[int(0.9 * (len(values) - 1))]}, max {values[-1]}"
    )
    print(f"under 900: {sum(v < 900 for v in values)}/{len(values)}")
    if "--list" in sys.argv:
        for entry_id, length in sorted(lengths.items(), key=lambda item: -item[1]):
            print(f"{length:5d}  {entry_id}")


if __name__ == "__main__":
    main()

"""Matcher speed: time per question, index build time and memory.

Run: python bench/matcher_bench.py

Measured on the bundled knowledge and on synthetic 1,000- and 5,000-entry knowledge bases
made from it (each real entry copied with a few words of its phrasings swapped for other
words of the vocabulary, so the copies are near neighbours, the hard case). Beside each
figure, the floor: one raw `rapidfuzz.process.extractOne` (WRatio) pass over the same
phrasing strings, with no normalisation and no decision.

Queries are the knowledge's own phrasings, folded (no diacritics) and with one typo,
so the benchmark needs nothing outside this repository.
"""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc
from dataclasses import replace

from rapidfuzz import fuzz, process

from bot import BUNDLED_KNOWLEDGE_DIR
from bot.knowledge import Knowledge, load_knowledge
from bot.matcher import Matcher
from bot.normalize import fold

SEED = 20261126
QUERIES = 400


def synthetic(knowledge: Knowledge, size: int, rng: random.Random) -> Knowledge:
    vocabulary = sorted(
        {w for e in knowledge.entries.values() for p in e.phrasings for w in p.split()}
    )
    entries = dict(knowledge.entries)
    originals = list(knowledge.entries.values())
    copy = 0
    while len(entries) < size:
        base = originals[copy % len(originals)]
        copy += 1

        def perturb(text: str) -> str:
            words = text.split()
            for _ in range(2):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            return " ".join(words)

        entry = replace(
            base,
            id=f"{base.id}-{copy}",
            question=perturb(base.question),
            alternates=tuple(perturb(a) for a in base.alternates),
            related=(),
        )
        entries[entry.id] = entry
    return replace(knowledge, entries=entries)


def queries(knowledge: Knowledge, rng: random.Random) -> list[str]:
    phrasings = [p for e in knowledge.entries.values() for p in e.phrasings]
    out = []
    for text in rng.sample(phrasings, min(QUERIES, len(phrasings))):
        folded = list(fold(text).lower())
        position = rng.randrange(len(folded))
        folded[position] = rng.choice("aeiounhtc")
        out.append("".join(folded))
    return out


def timings(fn, items: list[str]) -> tuple[float, float]:
    samples = []
    for item in items:
        start = time.perf_counter_ns()
        fn(item)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))]


def measure(name: str, knowledge: Knowledge, qs: list[str], floor_queries: int = QUERIES) -> None:
    """`floor_queries`: how many of the queries the slow raw pass is timed on."""
    start = time.perf_counter()
    matcher = Matcher(knowledge)
    build = time.perf_counter() - start
    tracemalloc.start()  # a second build, traced: tracing slows it, so it is not timed
    Matcher(knowledge)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    choices = [p for e in knowledge.entries.values() for p in e.phrasings]
    for q in qs[:20]:  # warm caches of both sides alike
        matcher.match(q)
        process.extractOne(q, choices, scorer=fuzz.WRatio)
    ours = timings(matcher.match, qs)
    floor = timings(
        lambda q: process.extractOne(q, choices, scorer=fuzz.WRatio), qs[:floor_queries]
    )
    print(f"{name}: {len(knowledge.entries)} entries, {len(choices)} phrasings")
    print(f"  index build       {build * 1000:8.1f} ms, peak memory {peak / 2**20:6.1f} MiB")
    print(f"  matcher           median {ours[0]:6.3f} ms   p99 {ours[1]:6.3f} ms")
    print(f"  raw extractOne    median {floor[0]:6.3f} ms   p99 {floor[1]:6.3f} ms")
    print(f"  ratio (median)    {ours[0] / floor[0]:6.2f}x")


def main() -> None:
    rng = random.Random(SEED)
    real = load_knowledge(BUNDLED_KNOWLEDGE_DIR)
    measure("bundled knowledge", real, queries(real, rng))
    for size, floor_queries in ((1000, QUERIES), (5000, 50)):
        big = synthetic(real, size, rng)
        measure("synthetic knowledge", big, queries(big, rng), floor_queries)


if __name__ == "__main__":
    main()

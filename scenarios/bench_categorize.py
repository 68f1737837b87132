"""`make bench-categorize`: how well ``shared.categorize`` suggests categories, and how fast.

* cold start: every memo of the held-out (test) merchants, no history; top-1 and top-3
  accuracy, also on the memos no keyword rule covers, and the precision of the
  suggestions confident enough to auto-apply at ``DEFAULT_THRESHOLD``;
* after N corrections: simulated users, each with 30 of the test merchants visited with
  Zipf-like frequencies; the user's first N transactions are categorized (corrected)
  into their history (a real faiss ``MemoIndex``), then the next 60 are suggested;
  the same 60 for every N, so the figures compare;
* latency: ``suggest`` against a 200-memo history, p50/p95 over every call made.

``--split train`` runs the same on the training merchants: that is what the constants in
``shared/categorize/categorizer.py`` were tuned on; the test split only reports.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import faiss

from scenarios.memos import Memo, Merchant, memos, split, user_stream
from shared.adapters.vectors import MemoIndex
from shared.categorize import DEFAULT_THRESHOLD, Categorizer, RuleBook

CORRECTIONS = (0, 10, 50, 200)
EVALUATED = 60
USERS = 30


@dataclass
class Score:
    top1: int = 0
    top3: int = 0
    total: int = 0
    confident: int = 0
    confident_right: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, suggested: Sequence[str], confidence: float, truth: str, seconds: float) -> None:
        self.total += 1
        self.top1 += bool(suggested) and suggested[0] == truth
        self.top3 += truth in suggested[:3]
        if confidence >= DEFAULT_THRESHOLD:
            self.confident += 1
            self.confident_right += bool(suggested) and suggested[0] == truth
        self.latencies.append(seconds)

    def line(self, name: str) -> str:
        share = self.confident / max(1, self.total)
        precision = self.confident_right / max(1, self.confident)
        return (
            f"{name:<34} top-1 {self.top1 / max(1, self.total):.3f}  "
            f"top-3 {self.top3 / max(1, self.total):.3f}  n={self.total:<5} "
            f"conf>={DEFAULT_THRESHOLD}: {share:5.1%} of memos, {precision:.3f} right"
        )


def _suggest(categorizer: Categorizer, index: MemoIndex | None, item: Memo, score: Score) -> None:
    started = time.perf_counter()
    found = categorizer.suggest(index, item.text, amount=item.amount)
    elapsed = time.perf_counter() - started
    top = found[0].confidence if found else 0.0
    score.add([s.category for s in found], top, item.category, elapsed)


def cold_start(categorizer: Categorizer, items: list[Memo]) -> tuple[Score, Score]:
    rules = RuleBook()
    overall, uncovered = Score(), Score()
    for item in items:
        _suggest(categorizer, None, item, overall)
        if not rules.scores(item.text):
            _suggest(categorizer, None, item, uncovered)
    return overall, uncovered


def corrections(categorizer: Categorizer, pool: list[Merchant], seed: int) -> dict[int, Score]:
    scores = {n: Score() for n in CORRECTIONS}
    for user in range(USERS):
        stream = list(user_stream(pool, max(CORRECTIONS) + EVALUATED, seed + user))
        evaluated = stream[max(CORRECTIONS) :]
        for n in CORRECTIONS:
            index = MemoIndex(categorizer.embedder.dim)
            for i, item in enumerate(stream[:n]):
                categorizer.remember(index, i, f"t{i}", item.category, item.text)
            index.settle()
            for item in evaluated:
                _suggest(categorizer, index, item, scores[n])
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--per-merchant", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    # One query at a time on a small flat index: faiss's OpenMP threads only contend for
    # the cores (p50 16 ms with them on this 2-core machine under load, 0.15 ms without).
    faiss.omp_set_num_threads(1)
    train, test = split(args.seed)
    pool = test if args.split == "test" else train
    print(
        f"{len(train)} training merchants, {len(test)} test merchants (disjoint); "
        f"evaluating on the {args.split} split"
    )
    categorizer = Categorizer()
    overall, uncovered = cold_start(categorizer, memos(pool, args.per_merchant, args.seed))
    print(overall.line("cold start"))
    print(uncovered.line("cold start, no rule keyword"))
    scores = corrections(categorizer, pool, args.seed)
    for n, score in scores.items():
        print(score.line(f"after {n} corrections ({USERS} users)"))
    latencies = [s for score in (overall, *scores.values()) for s in score.latencies]
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"suggest latency over {len(latencies):,} calls: p50 {cuts[49] * 1000:.2f} ms, "
        f"p95 {cuts[94] * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()

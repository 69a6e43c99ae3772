"""Benchmark name protection with PyPI's real names.

Existing projects: every name in ``pypi-names.txt.gz`` (886,000) by look-alike key, as the
``name_keys`` table holds them; popular: the bundled 15,000. Prints the index build time
and memory, p50/p99 of one check (look-alike collision + every popular-name rule) over a
mix of ordinary names and typos, and the speed-up over a brute-force rapidfuzz scan.

    .venv/bin/python benchmarks/names.py [--names ../shared/data/pypi-names.txt.gz]

Goals on a 2-core machine: p99 < 1 ms, build < 10 s, memory < 500 MB.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import os
import random
import resource
import statistics
import time
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bastion.config import Settings
from bastion.protect.names.detector import detect
from bastion.protect.names.normalize import canonical, lookalike_key
from bastion.protect.names.popular import build_index, bundled_ranked
from bastion.protect.names.rules import NameRules

DEFAULT_NAMES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pypi-names.txt.gz"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=Path, default=DEFAULT_NAMES)
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--brute", type=int, default=300, help="checks for the brute force")
    args = parser.parse_args()
    rules = NameRules.from_settings(Settings())
    with gzip.open(args.names, "rt") as fh:
        existing_names = [canonical(line.strip()) for line in fh if line.strip()]
    ranked = bundled_ranked()

    before = rss_mb()
    start = time.perf_counter()
    index = build_index(ranked, rules)
    popular_build = time.perf_counter() - start
    start = time.perf_counter()
    existing: dict[str, list[str]] = {}
    for name in existing_names:
        existing.setdefault(lookalike_key(name), []).append(name)
    keys_build = time.perf_counter() - start
    after = rss_mb()

    rng = random.Random(1)
    popular_names = [name for name, _ in ranked]
    checks = rng.sample(existing_names, args.checks // 2) + [
        typo(rng.choice(popular_names), rng) for _ in range(args.checks // 2)
    ]
    rng.shuffle(checks)

    def check(name: str) -> bool:
        key = lookalike_key(name)
        clash = [n for n in existing.get(key, ()) if n != canonical(name)]
        return bool(clash) or bool(detect(name, index, rules))

    gc.freeze()  # the names loaded above are never garbage: keep collections short
    times, cpu = [], []
    for name in checks:
        t0, c0 = time.perf_counter(), time.thread_time()
        check(name)
        cpu.append(time.thread_time() - c0)
        times.append(time.perf_counter() - t0)
    times.sort()
    cpu.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99)] * 1000
    cpu50 = statistics.median(cpu) * 1000
    cpu99 = cpu[int(len(cpu) * 0.99)] * 1000

    popular_keys = [lookalike_key(n) for n in popular_names]
    existing_keys = list(existing)
    brute = checks[: args.brute]
    t0 = time.perf_counter()
    for name in brute:
        key = lookalike_key(name)
        process.extract(key, popular_keys, scorer=OSA.distance, score_cutoff=2, limit=None)
    brute_popular = (time.perf_counter() - t0) / len(brute) * 1000
    t0 = time.perf_counter()
    for name in brute[:50]:
        key = lookalike_key(name)
        process.extract(key, existing_keys, scorer=OSA.distance, score_cutoff=0, limit=None)
    brute_existing = (time.perf_counter() - t0) / 50 * 1000
    mean = statistics.fmean(times) * 1000

    print(f"popular names      {len(index):,}   existing names {len(existing_names):,}")
    print(
        f"build              popular index {popular_build:.2f} s, existing keys {keys_build:.2f} s"
    )
    print(f"memory             +{after - before:.0f} MB (peak RSS {after:.0f} MB)")
    print(
        f"per check          p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {mean:.3f} ms "
        f"over {len(times):,} checks (half typos), wall clock"
    )
    print(
        f"per check, CPU     p50 {cpu50:.3f} ms, p99 {cpu99:.3f} ms (time on the CPU: what a "
        f"busy shared machine does not distort; load average {os.getloadavg()[0]:.1f})"
    )
    print(
        f"brute force        rapidfuzz scan of the popular keys {brute_popular:.2f} ms, "
        f"of the existing keys {brute_existing:.1f} ms per check"
    )
    print(
        f"speed-up           {brute_popular / mean:.0f}x (popular rules alone), "
        f"{(brute_popular + brute_existing) / mean:.0f}x (with the existing scan)"
    )


if __name__ == "__main__":
    main()

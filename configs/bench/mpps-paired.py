#!/usr/bin/env python3
"""Paired rate ratios of two binaries on one benchmark config.

usage: mpps-paired.py CONFIG A B [ROUNDS] [N]   (from the repository root)

Runs A and B in turn, ROUNDS times (default 30), flipping the order each
round, each run as ../shared/bench/mpps.py does (`taskset -c 1 BINARY -h
c.count CONFIG N=N`, the rate by CPU time less start-up's). Each round
gives the ratio of A's rate to B's, measured seconds apart.

Why: on a shared VM a binary's rate swings by up to 2x between phases of
the machine, for every binary alike. mpps.py's ratio of medians takes
each median over the whole run, so a slow phase that hits more of one
binary's runs moves it; a round's two runs share their phase, so the
median of the rounds' ratios is steadier. Prints both, and how many
rounds had A at least twice B's rate (the issues' 2x targets).
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
import mpps  # noqa: E402  (the shared harness: one run of a binary)


def startup_cpu(binary, config):
    """CPU seconds of a run of one packet: start-up and exit."""
    runs = [mpps.run(binary, config, 1, "1") for _ in range(3)]
    return statistics.median(r[1] for r in runs)


def rate(binary, config, n, startup):
    _wall, cpu, count = mpps.run(binary, config, n, "1")
    return count / max(cpu - startup, 1e-9) / 1e6


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip().splitlines()[2])
    config, a, b = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 20_000_000
    start = {x: startup_cpu(x, config) for x in (a, b)}
    rates = {a: [], b: []}
    ratios = []
    for i in range(rounds):
        order = (a, b) if i % 2 == 0 else (b, a)
        got = {x: rate(x, config, n, start[x]) for x in order}
        for x in order:
            rates[x].append(got[x])
        ratios.append(got[a] / got[b])
    ma, mb = statistics.median(rates[a]), statistics.median(rates[b])
    print(f"{os.path.basename(a)} {ma:.1f} Mpps, {os.path.basename(b)} {mb:.1f} Mpps (medians)")
    print(f"ratio of medians {ma / mb:.2f}; rounds' ratios: median {statistics.median(ratios):.2f}, "
          f"min {min(ratios):.2f}, max {max(ratios):.2f}, at least 2x in {sum(r >= 2 for r in ratios)}/{rounds}")


if __name__ == "__main__":
    main()

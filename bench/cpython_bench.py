#!/usr/bin/env python3
"""CPython's multiprocessing doing the work PoolScope's benchmark does (bench/poolscope_bench.cpp).

Prints each figure as a median over repeats; with --json FILE writes the medians (in seconds)
under the same keys poolscope-bench uses, so that it can put both side by side.
Usage: cpython_bench.py [--quick] [--repeats N] [--only process,pool,...] [--json FILE]
"""

# Only light modules at the top: spawn and forkserver children re-import this file as
# __mp_main__, and heavy imports (statistics, argparse, ...) would be billed to CPython's start.
import math
import multiprocessing as mp
import sys
import time

SECTIONS = ["process", "pool", "throughput", "map", "apply", "recording", "isprime"]
METHODS = ["fork", "spawn", "forkserver"]


def square(x):
    return x * x


def is_prime(n: int) -> bool:
    # Check if n is prime (naive method), as in the article.
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    r = int(math.isqrt(n))
    for f in range(3, r + 1, 2):
        if n % f == 0:
            return False
    return True


def now():
    return time.perf_counter_ns() / 1e9


def median(xs):
    s = sorted(xs)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def measure(warmup, repeats, sample):
    """Runs sample() warmup times unrecorded, then repeats times; sample returns seconds."""
    for _ in range(warmup):
        sample()
    return [sample() for _ in range(repeats)]


class Bench:
    def __init__(self, args):
        self.args = args
        self.figures = {}

    def reps(self, full, quick):
        if self.args.repeats:
            return self.args.repeats
        return quick if self.args.quick else full

    def record(self, key, samples, unit="s", items=None, extra=None):
        med = median(samples)
        self.figures[key] = {"median": med, "unit": unit, "repeats": len(samples),
                             "min": min(samples), "max": max(samples)}
        if items:
            self.figures[key]["items"] = items
        self.figures[key].update(extra or {})
        shown = f"{items / med:,.0f} tasks/s" if items else fmt_seconds(med)
        best = ""
        if extra and "pools" in extra:
            best = f", the best of {extra['pools']} pools"
        elif extra and "blocks" in extra:
            best = f", the best of {extra['blocks']} blocks"
        print(f"  {key:<28} {shown:>16}   (median of {len(samples)}{best})", flush=True)

    # --- sections ---------------------------------------------------------------------

    def process(self):
        counts = {"fork": (101, 15), "spawn": (41, 5), "forkserver": (51, 10)}
        for method in METHODS:
            ctx = mp.get_context(method)

            def sample():
                p = ctx.Process(target=square, args=(3,))
                t0 = now()
                p.start()
                p.join()
                t = now() - t0
                assert p.exitcode == 0
                p.close()
                return t

            # The warm-up also starts the fork server, so that it is "already up".
            self.record(f"process.{method}", measure(2, self.reps(*counts[method]), sample))

    def pool(self):
        # As poolscope-bench: lifecycles come in phases, so each method is measured in
        # life_blocks() blocks, the methods in turn, and the best block's samples are kept.
        counts = {"fork": (41, 5), "spawn": (21, 3), "forkserver": (31, 5)}
        blocks = {method: [] for method in METHODS}
        for b in range(self.life_blocks()):
            for method in METHODS:
                ctx = mp.get_context(method)

                def sample(ctx=ctx):
                    t0 = now()
                    pool = ctx.Pool(2)
                    pool.close()
                    pool.join()
                    return now() - t0

                blocks[method].append(measure(1, self.reps(*counts[method]), sample))
        for method in METHODS:
            self.record_best_block(f"pool.{method}", blocks[method])

    def life_blocks(self):
        return 2 if self.args.quick else 5

    def record_best_block(self, key, blocks):
        medians = [median(samples) for samples in blocks]
        best = medians.index(min(medians))
        self.record(key, blocks[best], unit="s",
                    extra={"blocks": len(blocks), "blockMedians": medians})

    def pool_draws(self):
        # As poolscope-bench: warm pools differ from one another and each keeps its pace, so
        # the throughput figures measure this many fresh pools and keep the best pool's.
        return 2 if self.args.quick else 5

    def record_best_pool(self, key, pools, items):
        medians = [median(samples) for samples in pools]
        best = medians.index(min(medians))
        self.record(key, pools[best], unit="s", items=items,
                    extra={"pools": len(pools), "poolMedians": medians})

    def throughput(self):
        n = 10_000
        items = list(range(n))
        apis = {
            "map": lambda pool: pool.map(square, items, chunksize=1),
            "imap": lambda pool: list(pool.imap(square, items, chunksize=1)),
            "imap_unordered": lambda pool: list(pool.imap_unordered(square, items, chunksize=1)),
        }
        samples = {name: [] for name in apis}
        for _ in range(self.pool_draws()):
            with mp.get_context("fork").Pool(2) as pool:
                for name, call in apis.items():
                    def sample(call=call):
                        t0 = now()
                        out = call(pool)
                        t = now() - t0
                        assert len(out) == n
                        return t

                    samples[name].append(measure(1, self.reps(5, 2), sample))
        for name in apis:
            self.record_best_pool(f"throughput.{name}", samples[name], n)

    def map(self):
        n = 100_000
        items = list(range(n))
        with mp.get_context("fork").Pool(2) as pool:
            def sample():
                t0 = now()
                out = pool.map(square, items)
                t = now() - t0
                assert out[-1] == (n - 1) * (n - 1)
                return t

            self.record("map.default", measure(1, self.reps(15, 3), sample), items=n)

    def apply(self):
        with mp.get_context("fork").Pool(2) as pool:
            def sample():
                t0 = now()
                value = pool.apply(square, (3,))
                t = now() - t0
                assert value == 9
                return t

            self.record("apply", measure(50, self.reps(2001, 201), sample))

    def recording(self):
        pass  # PoolScope's event recording on vs off: nothing to compare in CPython

    def isprime(self):
        # The goal's input, as `poolscope pool --func is_prime --items 4000` runs it: 4,000 odd
        # numbers from 10,000,019. Then every integer from 10,000,000, for reference (half of
        # them even, rejected at once).
        for key, numbers in (
            ("isprime", list(range(10_000_019, 10_000_019 + 2 * 4000, 2))),
            ("isprime_every", list(range(10_000_000, 10_004_000))),
        ):
            self.isprime_pools(key, numbers)

    def isprime_pools(self, key, numbers):
        expected = [is_prime(x) for x in numbers]
        ctx = mp.get_context("fork")
        with ctx.Pool(1) as pool1, ctx.Pool(2) as pool2:
            pools = {1: pool1, 2: pool2}
            samples = {1: [], 2: []}
            reps = self.reps(15, 3)
            # Alternate the two pools so that drift on the machine hits both alike.
            for i in range(reps + 1):
                for k, pool in pools.items():
                    t0 = now()
                    out = pool.map(is_prime, numbers)
                    t = now() - t0
                    assert out == expected
                    if i > 0:
                        samples[k].append(t)
            for k in (1, 2):
                self.record(f"{key}.pool{k}", samples[k])


def fmt_seconds(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"


def main():
    import argparse
    import json
    import platform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 10 s)")
    parser.add_argument("--repeats", type=int, default=None, help="repeats for every figure")
    parser.add_argument("--only", default="", help="comma-separated sections: " +
                        ",".join(SECTIONS))
    parser.add_argument("--json", default="", help="write the results to this file")
    args = parser.parse_args()

    only = [s for s in args.only.split(",") if s] or SECTIONS
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {','.join(unknown)}; known: {','.join(SECTIONS)}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")

    print(f"CPython {platform.python_version()} multiprocessing ({sys.executable})", flush=True)
    bench = Bench(args)
    for section in SECTIONS:
        if section in only:
            getattr(bench, section)()

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": platform.python_version(), "executable": sys.executable,
                       "figures": bench.figures}, f, indent=1)


if __name__ == "__main__":
    main()

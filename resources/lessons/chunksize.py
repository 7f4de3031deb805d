import math
import time
from multiprocessing import Pool


def square(x):
    return x * x


def nap(seconds):
    time.sleep(seconds)


def trial(workers, func, items, chunksize):
    with Pool(workers) as pool:
        start = time.perf_counter()
        first = None
        results = []
        for value in pool.imap_unordered(func, items, chunksize=chunksize):
            if first is None:
                first = time.perf_counter() - start
            results.append(value)
        total = time.perf_counter() - start
    return first, total, results


def boundaries(n, chunksize):
    spans = []
    for first in range(0, n, chunksize):
        last = min(first + chunksize, n) - 1
        spans.append(f"[{first}]" if first == last else f"[{first}..{last}]")
    return " ".join(spans if len(spans) <= 4 else spans[:2] + ["..."] + spans[-1:])


def compare(workers, func, items):
    n = len(items)
    variants = [
        (1, "1"),
        (math.ceil(n / (4 * workers)), f"{math.ceil(n / (4 * workers))} (map default)"),
        (math.ceil(n / workers), f"{math.ceil(n / workers)} (1 chunk per worker)"),
    ]
    width = max(len(label) for _, label in variants)
    print(f"{'chunksize':<{width}}  {'chunks':>6}  {'messages':>8}  {'first result':>12}"
          f"  {'total':>10}  boundaries")
    for chunksize, label in variants:
        first, total, _ = trial(workers, func, items, chunksize)
        chunks = math.ceil(n / chunksize)
        # one message carries a chunk to a worker, one brings its results back
        print(f"{label:<{width}}  {chunks:>6}  {2 * chunks:>8}  {first * 1e3:>9.1f} ms"
              f"  {total * 1e3:>7.1f} ms  {boundaries(n, chunksize)}")


if __name__ == "__main__":
    workers = 2
    numbers = list(range(1, 10_001))
    print(f"--- Tiny tasks: square over {len(numbers):,} numbers, Pool({workers}), "
          "imap_unordered ---")
    compare(workers, square, numbers)
    delays = [0.8] + [0.1] * 15
    print(f"--- Uneven tasks: sleep(0.8) once, then sleep(0.1) 15 times, Pool({workers}), "
          "imap_unordered ---")
    compare(workers, nap, delays)

import random
import time
from multiprocessing import Pool

SEED = 10  # the same seed gives both passes the same delays


def delay_for(n):
    # A pure function of (SEED, n): imap and imap_unordered see the same delays.
    return random.Random(f"{SEED}:{n}").uniform(0.5, 2.0)


def slow_square(n):
    start = time.perf_counter()
    time.sleep(delay_for(n))
    took = time.perf_counter() - start
    result = n * n
    print(f"Task {n} finished in {took:.2f}s -> {result}", flush=True)
    return result


def demo(ordered):
    items = [1, 2, 3, 4, 5]
    with Pool(3) as pool:
        if ordered:
            print("--- Using imap (ordered results) ---", flush=True)
            results = pool.imap(slow_square, items, chunksize=1)
        else:
            print("--- Using imap_unordered (unordered results) ---", flush=True)
            results = pool.imap_unordered(slow_square, items, chunksize=1)
        label = "ordered" if ordered else "unordered"
        for res in results:  # each result as soon as the iterator may hand it out
            print(f"Got result ({label}):", res, flush=True)


if __name__ == "__main__":
    demo(ordered=True)
    demo(ordered=False)

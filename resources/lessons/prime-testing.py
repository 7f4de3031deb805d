import math
import time
from multiprocessing import Pool, cpu_count


def is_prime(n: int) -> bool:
    # trial division by odd numbers up to the square root: pure CPU work
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for f in range(3, math.isqrt(n) + 1, 2):
        if n % f == 0:
            return False
    return True


def timed_map(workers, numbers):
    with Pool(workers) as pool:
        start = time.perf_counter()  # the pool is up: time the work only
        verdicts = pool.map(is_prime, numbers)
        return verdicts, time.perf_counter() - start


if __name__ == "__main__":
    numbers = [10_000_019, 10_000_079, 10_000_091, 10_000_099]
    verdicts, total = timed_map(cpu_count(), numbers)
    print(list(zip(numbers, verdicts)))
    print(f"Time elapsed: {total:.2f}s with {cpu_count()} workers")

    # The same map on an input big enough for the divisions to dominate (pure Python needs
    # a while for it: each prime near 10**12 costs half a million divisions).
    first, count = 1_000_000_000_001, 1_000
    bigger = [first + 2 * i for i in range(count)]
    print(f"--- Speedup: is_prime over {count:,} odd numbers from {first:,} ---")
    print(f"{'workers':>7}  {'seconds':>7}  {'speedup':>7}")
    baseline = None
    for workers in range(1, max(2, cpu_count()) + 1):
        _, seconds = timed_map(workers, bigger)
        baseline = baseline or seconds
        print(f"{workers:>7}  {seconds:>7.3f}  {baseline / seconds:>6.2f}x")

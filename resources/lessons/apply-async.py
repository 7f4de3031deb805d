import time
from multiprocessing import Pool


def slow_square(n):
    # The article's square: two seconds of "work", then n * n. Like PoolScope's worker, it
    # says when it is done, so you can see where that falls among the main process's lines.
    start = time.perf_counter()
    time.sleep(2)
    result = n * n
    print(f"Task {n} finished in {time.perf_counter() - start:.2f}s -> {result}", flush=True)
    return result


def blocking_get(pool):
    print("--- get(): blocks until the worker is done ---", flush=True)
    async_res = pool.apply_async(slow_square, (5,))
    print("Main keeps running...", flush=True)
    print("Result:", async_res.get(), flush=True)  # waits here


def polling_loop(pool):
    print("--- ready(): poll without blocking ---", flush=True)
    async_res = pool.apply_async(slow_square, (5,))
    while not async_res.ready():  # ready() answers at once
        print("Still working...", flush=True)
        time.sleep(0.5)
    print("Done:", async_res.get(), flush=True)


def wait_then_get(pool):
    print("--- wait(), then get() ---", flush=True)
    async_res = pool.apply_async(slow_square, (5,))
    async_res.wait()  # blocks, returns None
    print("Now safe to get:", async_res.get(), flush=True)


if __name__ == "__main__":
    with Pool(2) as pool:
        blocking_get(pool)
        polling_loop(pool)
        wait_then_get(pool)

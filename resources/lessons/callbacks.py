import multiprocessing
import sys
import time
from multiprocessing import Pool


def work(x):
    time.sleep(1)
    if x == 5:
        raise ValueError("boom")
    return x * x


def on_ok(result):
    print("Result ready:", result, flush=True)


def on_err(err):
    print("Error:", err, flush=True)


def raising_callback(result):
    print("Callback got", result, "and raises", flush=True)
    raise RuntimeError("callback failed")


def article_example():
    with Pool(3) as pool:
        futures = [
            pool.apply_async(work, (x,), callback=on_ok, error_callback=on_err)
            for x in range(8)
        ]
        print("Main can do other stuff while workers run...", flush=True)
        for f in futures:
            f.wait()
        print("All tasks completed", flush=True)


def lost_error():
    print("--- Pitfall 1: apply_async without error_callback and without get() ---", flush=True)
    with Pool(3) as pool:
        pool.apply_async(work, (5,))  # the ValueError is stored, and nobody ever asks
        pool.close()
        pool.join()
    print("close() and join() returned; no error was shown", flush=True)


def raising_callback_pitfall():
    print("--- Pitfall 2: a callback that raises ---", flush=True)
    pool = Pool(3)
    bad = pool.apply_async(work, (2,), callback=raising_callback)
    # CPython: the exception ends the pool's result-handler thread, so this result never
    # becomes ready and no later one arrives (hence the timeouts). PoolScope reports the
    # exception and goes on: True, "Result ready: 9", "Next task: 9".
    bad.wait(timeout=5)
    print("Task of the raising callback ready?", bad.ready(), flush=True)
    later = pool.apply_async(work, (3,), callback=on_ok)
    try:
        print("Next task:", later.get(timeout=5), flush=True)
    except multiprocessing.TimeoutError:
        print("Next task: no result in time: the result handler is dead", flush=True)
    try:
        pool.terminate()
    except AssertionError as e:
        # CPython refuses to clean up a pool whose result handler died ("Cannot have cache
        # with result_hander not alive"); its daemon workers die with the program.
        print("terminate():", e, file=sys.stderr)


if __name__ == "__main__":
    article_example()
    lost_error()
    raising_callback_pitfall()

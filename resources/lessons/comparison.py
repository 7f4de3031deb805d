import multiprocessing as mp
import os
import random
import statistics
import time

ITEMS = [1, 2, 3, 4, 5, 6]
SEED = 10
_started = None  # set in each worker by the initializer


def mark_start():
    global _started
    _started = time.monotonic()  # CLOCK_MONOTONIC: comparable with the parent's clock


def probe(x):
    return x * x, os.getppid(), _started


def slow_square(n):
    # Seeded: every API sees the same delays. (PoolScope draws a delay per task position; an
    # apply call is a job with a single task, so there each apply sleeps the first delay.)
    delay = random.Random(SEED * 1000 + n).uniform(0.2, 0.8)
    time.sleep(delay)
    print(f"Task {n} finished in {delay:.2f}s -> {n * n}", flush=True)
    return n * n


def table(header, rows, right=()):
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    for r in [header] + rows:
        cells = [str(v).rjust(w) if c in right else str(v).ljust(w)
                 for c, (v, w) in enumerate(zip(r, widths))]
        print("  ".join(cells).rstrip())


def start_methods(repeats=3):
    print(f"--- Start methods: Pool(2) started {repeats} times with each ---")
    facts = {
        "spawn": ("Windows, macOS", "a fresh program; named tasks only"),
        "fork": ("Linux (Python < 3.14)", "a copy of the parent, threads' locks too"),
        "forkserver": ("Linux (Python 3.14+)", "a copy of the clean fork server"),
    }
    rows = []
    for method, (default_on, starts_as) in facts.items():
        ctx = mp.get_context(method)
        up, worker_start, parents = [], [], set()
        for _ in range(repeats):
            t0 = time.monotonic()
            with ctx.Pool(2, initializer=mark_start) as pool:
                answers = pool.map(probe, [1, 2], chunksize=1)
                up.append(time.monotonic() - t0)
            for _, ppid, started in answers:
                worker_start.append(started - t0)
                parents.add(ppid)
        parent = "main process" if parents == {os.getpid()} else f"fork server ({parents.pop()})"
        rows.append([method, default_on, f"{up[0] * 1e3:.1f} ms",
                     f"{statistics.median(up) * 1e3:.1f} ms",
                     f"{statistics.median(worker_start) * 1e3:.1f} ms", parent, starts_as])
    table(["method", "default on", "1st Pool(2) up", "median up", "worker start",
           "workers' parent", "child starts as"], rows, right=(2, 3, 4))


def run_api(api, workers):
    print(f"- {api}")
    received, arrival_times = [], []
    with mp.Pool(workers) as pool:
        start = time.monotonic()
        if api == "map":
            received = pool.map(slow_square, ITEMS)
            returned = first = last = time.monotonic()
        elif api in ("imap", "imap_unordered"):
            it = getattr(pool, api)(slow_square, ITEMS, chunksize=1)
            returned = time.monotonic()
            for value in it:
                received.append(value)
                arrival_times.append(time.monotonic())
            first, last = arrival_times[0], arrival_times[-1]
        elif api == "apply":
            for x in ITEMS:
                received.append(pool.apply(slow_square, (x,)))
                arrival_times.append(time.monotonic())
            returned = first = arrival_times[0]
            last = arrival_times[-1]
        else:  # apply_async: results come to the callback, in arrival order
            def on_result(value):
                received.append(value)
                arrival_times.append(time.monotonic())
            futures = []
            for x in ITEMS:
                futures.append(pool.apply_async(slow_square, (x,), callback=on_result))
                if len(futures) == 1:
                    returned = time.monotonic()
            for f in futures:
                f.wait()
            first, last = arrival_times[0], arrival_times[-1]
    seconds = [t - start for t in (returned, first, last)]
    return seconds, received


if __name__ == "__main__":
    start_methods()
    workers = 3
    print(f"--- Pool APIs: slow_square over 1..6 on Pool({workers}), delays 0.2-0.8 s "
          f"(seed {SEED}) ---")
    rows = []
    for api in ["map", "imap", "imap_unordered", "apply", "apply_async"]:
        (returned, first, last), received = run_api(api, workers)
        rows.append([api, f"{returned:.3f} s", f"{first:.3f} s", f"{last:.3f} s",
                     "yes" if returned >= first else "no",
                     "yes" if received == [x * x for x in ITEMS] else "no",
                     ", ".join(map(str, received))])
    table(["API", "call returned", "first result", "all results", "blocked?", "input order?",
           "results, as received"], rows, right=(1, 2, 3))

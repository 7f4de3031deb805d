import multiprocessing as mp
import os
import statistics
import threading
import time

STARTS = 20
METHODS = [("spawn", 42), ("fork", 99), ("forkserver", 123)]

flag = 0                 # a module global; the main block changes it before starting children
lock = threading.Lock()  # another thread of the parent holds it while the children start


def greet(x):
    print(f"Worker received {x}", flush=True)


def ping(conn):
    conn.send("running")  # the child is up and running its target


def inspect(conn, fd, inode, wait):
    # What did this child get from its parent?
    try:
        has_fd = os.fstat(fd).st_ino == inode
    except OSError:
        has_fd = False
    got = lock.acquire(timeout=wait)  # a timeout: never hang on an orphaned lock
    if got:
        lock.release()
    conn.send((flag, "open" if has_fd else "closed", threading.active_count(),
               "free" if got else "held"))


def start_latency(method):
    ctx = mp.get_context(method)
    times = []
    for _ in range(STARTS):
        receiver, sender = ctx.Pipe(duplex=False)
        p = ctx.Process(target=ping, args=(sender,))
        t0 = time.perf_counter()
        p.start()
        receiver.recv()
        times.append(time.perf_counter() - t0)
        p.join()
    return statistics.median(times), min(times)


def hold(lock, held, release):
    with lock:
        held.set()
        release.wait()


if __name__ == "__main__":
    for method, x in METHODS:
        print(f"--- {method} ---")
        p = mp.get_context(method).Process(target=greet, args=(x,))
        p.start()
        p.join()

    print(f"--- start latency: {STARTS} starts each, "
          "from start() until the child runs its task ---")
    print(f"{'method':<10}  {'median':>8}  {'min':>8}")
    for method, _ in METHODS:
        median, fastest = start_latency(method)
        print(f"{method:<10}  {median * 1e3:5.2f} ms  {fastest * 1e3:5.2f} ms")

    print("--- what a child inherits ---")
    flag = 1
    fd = os.open(os.devnull, os.O_RDONLY)  # not inheritable, and never passed to a child
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold, args=(lock, held, release))
    holder.start()
    held.wait()
    print(f"The parent set the global to {flag}, opened descriptor {fd} without passing it, "
          f"and another of its {threading.active_count()} threads holds the lock.")
    print(f"{'method':<10}  global  descriptor {fd}  threads  lock")
    for method, _ in METHODS:
        ctx = mp.get_context(method)
        receiver, sender = ctx.Pipe(duplex=False)
        p = ctx.Process(target=inspect, args=(sender, fd, os.fstat(fd).st_ino, 0.5))
        p.start()
        seen_flag, descriptor, threads, state = receiver.recv()
        p.join()
        print(f"{method:<10}  {seen_flag:<6}  {descriptor:<12}  {threads:<7}  {state}")
    release.set()
    holder.join()
    os.close(fd)

    print("--- a lambda as the target ---")
    for method, _ in METHODS:
        p = mp.get_context(method).Process(target=lambda: print("The lambda ran", flush=True))
        try:
            p.start()
            p.join()
            print(f"{method}: started, exit code {p.exitcode}")
        except Exception as e:  # spawn and forkserver must pickle the target
            print(f"{method}: {type(e).__name__}: {e}")

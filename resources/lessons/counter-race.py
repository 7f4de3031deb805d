import multiprocessing as mp
import threading

INCREMENTS = 100_000
WORKERS = 2
TRIALS = 5

counter_thread = 0
counter_process = 0
lock = threading.Lock()


def bump_thread(n, use_lock):
    global counter_thread
    for _ in range(n):
        if use_lock:
            with lock:
                counter_thread += 1
        else:
            counter_thread += 1  # read, add, write: three steps another thread can split
    print("Thread's counter value:", counter_thread)


def run_threads(use_lock):
    global counter_thread
    counter_thread = 0
    threads = [threading.Thread(target=bump_thread, args=(INCREMENTS, use_lock))
               for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter_thread


def bump_process(n, conn):
    global counter_process
    for _ in range(n):
        counter_process += 1  # this child's own copy of the global
    print("Process's counter value:", counter_process, flush=True)
    conn.send(counter_process)  # the parent only learns it if the child tells it


if __name__ == "__main__":
    total = WORKERS * INCREMENTS
    print(f"--- threads without a lock: {WORKERS} x {INCREMENTS} increments, {TRIALS} trials ---")
    lossy = 0
    for trial in range(1, TRIALS + 1):
        print(f"Trial {trial}:")
        final = run_threads(use_lock=False)
        print("Threads see counter in same memory:", final)
        lossy += final < total
    print(f"Updates were lost in {lossy} of {TRIALS} trials")

    print("--- threads with a lock ---")
    locked = run_threads(use_lock=True)

    # PoolScope runs this part with fork; bump_process is a module-level function, so in
    # Python spawn and forkserver would work too.
    print("--- processes (fork) ---")
    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    processes = [ctx.Process(target=bump_process, args=(INCREMENTS, sender))
                 for _ in range(WORKERS)]
    for p in processes:
        p.start()
    reports = [receiver.recv() for _ in processes]  # [100000, 100000]: each child's own count
    for p in processes:
        p.join()
    print("Process does not see counter in same memory:", counter_process)
    print("Threads see counter in same memory:", locked)

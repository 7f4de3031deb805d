from multiprocessing import Process, current_process
import os
import time


def work(n):
    print(f"[{current_process().name}] PID={os.getpid()} start with n={n}")
    time.sleep(1)
    print(f"[{current_process().name}] done")


def end_by_signal(name, kill):
    p = Process(target=time.sleep, args=(60,), name=name)  # asleep when the signal comes
    p.start()
    print(f"{name} alive?", p.is_alive())
    time.sleep(0.25)
    if kill:
        p.kill()       # SIGKILL: cannot be caught
    else:
        p.terminate()  # SIGTERM: no cleanup either
    p.join()
    what = "After kill():" if kill else "After terminate():"
    print(what, "alive?", p.is_alive(), "exitcode:", p.exitcode)


if __name__ == "__main__":
    p1 = Process(target=work, name="Worker-1", args=(10,))
    p2 = Process(target=work, name="Worker-2", args=(20,))
    p1.start()
    p2.start()
    print("Alive?", p1.is_alive(), p2.is_alive())
    p1.join()
    p2.join()
    print("Exit codes:", p1.exitcode, p2.exitcode)

    print("--- terminate ---")
    end_by_signal("Sleeper-1", kill=False)  # exitcode -15
    print("--- kill ---")
    end_by_signal("Sleeper-2", kill=True)   # exitcode -9

    print("--- join with a timeout ---")
    p3 = Process(target=work, name="Worker-3", args=(30,))
    p3.start()
    p3.join(timeout=0.1)  # returns after 0.1 s, finished or not
    print("After join(timeout=0.1): alive?", p3.is_alive(), "exitcode:", p3.exitcode)
    p3.join()
    print("After join(): alive?", p3.is_alive(), "exitcode:", p3.exitcode)

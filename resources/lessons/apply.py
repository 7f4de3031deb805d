from multiprocessing import Pool


def cube(x):
    return x ** 3


if __name__ == "__main__":
    with Pool(3) as pool:
        print("Sending task...")
        # The main process stops on this line until a worker has sent 125 back.
        result = pool.apply(cube, (5,))
        print("Got result:", result)
        print("Main continues AFTER task is done.")

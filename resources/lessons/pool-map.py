from multiprocessing import Pool, cpu_count


def square(x):
    return x * x


if __name__ == "__main__":
    numbers = [1, 2, 3, 4, 5]
    # one worker per CPU; leaving the block terminates the pool
    with Pool(processes=cpu_count()) as pool:
        squares = pool.map(square, numbers)  # blocks until every chunk is back
    print(squares)

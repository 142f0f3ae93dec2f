"""Allocation-heavy, deterministic Python workload for the real-program test.

Run with PYTHONMALLOC=malloc so every object goes through malloc/free (not
pymalloc's arenas). Producer threads build dicts, lists, strings, bytes and
growing bytearrays of many sizes and hand them through a queue to consumer
threads, which round-trip them through json, sort them and hash them, and
drop them there (frees in another thread). Prints per-producer digests and an
overall one; the output must be identical with and without the preload.
"""

import hashlib
import json
import queue
import random
import sys
import threading

PRODUCERS = 3
CONSUMERS = 2
OBJECTS_PER_PRODUCER = 700
BYTES_SIZES = [0, 1, 15, 16, 24, 100, 1000, 4096, 10000, 65536, 131072, 200000, 300000]


def make_object(rng, index):
    kind = index % 6
    if kind == 0:
        return {f"key{j}_{rng.randrange(10**6)}": rng.random() for j in range(rng.randrange(1, 60))}
    if kind == 1:
        return [rng.randrange(-(10**15), 10**15) for _ in range(rng.randrange(1, 400))]
    if kind == 2:
        return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(1, 2000)))
    if kind == 3:
        return rng.randbytes(rng.choice(BYTES_SIZES))
    if kind == 4:
        # Grows by appends: the buffer is reallocated many times.
        grown = bytearray()
        for _ in range(rng.randrange(1, 200)):
            grown += bytes([rng.randrange(256)]) * rng.randrange(1, 3000)
        return bytes(grown)
    return {
        "id": index,
        "tags": sorted({f"t{rng.randrange(500)}" for _ in range(rng.randrange(1, 50))}),
        "children": [{"n": i, "v": [rng.random()] * rng.randrange(1, 20)} for i in range(rng.randrange(1, 30))],
    }


def digest(obj):
    if isinstance(obj, bytes):
        return hashlib.sha256(obj).hexdigest()
    text = json.dumps(obj, sort_keys=True)
    back = json.loads(text)
    if back != obj:
        raise SystemExit(f"json round trip changed an object: {text[:80]}")
    if isinstance(back, list):
        back = sorted(back, key=repr)
    elif isinstance(back, str):
        back = "".join(sorted(back))
    return hashlib.sha256(repr(back).encode()).hexdigest()


def producer(number, work):
    rng = random.Random(1000 + number)
    for index in range(OBJECTS_PER_PRODUCER):
        work.put((number, index, make_object(rng, index)))


def consumer(work, results, lock):
    while True:
        item = work.get()
        if item is None:
            return
        number, index, obj = item
        value = digest(obj)
        del obj, item
        with lock:
            results[(number, index)] = value


def main():
    work = queue.Queue(maxsize=64)
    results = {}
    lock = threading.Lock()
    consumers = [threading.Thread(target=consumer, args=(work, results, lock)) for _ in range(CONSUMERS)]
    producers = [threading.Thread(target=producer, args=(n, work)) for n in range(PRODUCERS)]
    for t in consumers + producers:
        t.start()
    for t in producers:
        t.join()
    for _ in consumers:
        work.put(None)
    for t in consumers:
        t.join()

    expected = PRODUCERS * OBJECTS_PER_PRODUCER
    if len(results) != expected:
        raise SystemExit(f"{len(results)} results, expected {expected}")
    overall = hashlib.sha256()
    for number in range(PRODUCERS):
        per_producer = hashlib.sha256()
        for index in range(OBJECTS_PER_PRODUCER):
            per_producer.update(results[(number, index)].encode())
        print(f"producer {number}: {per_producer.hexdigest()}")
        overall.update(per_producer.digest())
    # A large sort of many small strings, then of tuples.
    words = sorted(value[i : i + 8] for value in results.values() for i in range(0, 64, 8))
    pairs = sorted((w[::-1], len(w)) for w in words)
    overall.update("".join(words[::97]).encode())
    overall.update(repr(pairs[::101]).encode())
    print(f"objects: {len(results)}, words: {len(words)}")
    print(f"overall: {overall.hexdigest()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

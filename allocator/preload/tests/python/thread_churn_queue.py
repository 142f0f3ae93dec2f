"""Thread churn through queue.Queue and queue.SimpleQueue.

Regression test for a crash CPython's test_queue found in lwmalloc: with
more threads alive than the allocator has per-thread cache slots (or many
threads hashing near each other among 256 slots), frees took a fallback
path that mis-handled the freed block's first word. This script keeps well
over 100 threads alive at once, passing Python objects (lists, dicts, bytes
of varied sizes) from producers through short-lived relay threads to
consumers, so blocks are allocated on one thread and freed on another
while threads exit and new ones start. Every item is rebuilt from its id
and compared on arrival, so corrupted memory fails the run even when it
does not crash it.

    python3 thread_churn_queue.py [ROUNDS [PRODUCERS [CONSUMERS [RELAYS]]]]

Prints one summary line and exits 0 when every item of every round arrived
intact; exits 1 (naming the problem) otherwise. A hang is cut by
faulthandler after WATCHDOG_SECONDS with every thread's traceback.
"""

import faulthandler
import queue
import sys
import threading
import time

WATCHDOG_SECONDS = 120
ITEMS_PER_PRODUCER = 40
RELAY_BATCH = 8  # items each relay thread moves before it exits


def make_item(item_id):
    """A deterministic object of one of three kinds, 1 byte to ~48 KiB."""
    size = (item_id * 2654435761) % 97 + 1
    if item_id % 7 == 0:
        size *= 500  # some large blocks too, not only small ones
    kind = item_id % 3
    if kind == 0:
        return [item_id, size] + list(range(size % 300))
    if kind == 1:
        return {f"k{n}": bytes([n % 256]) * (n + 1) for n in range(size % 40)} | {"id": item_id}
    return bytes([item_id % 251]) * size


def run_round(round_no, producers, consumers, relays):
    """One round; returns (items verified, most threads alive at once)."""
    handoff = queue.Queue(maxsize=64)  # bounded: producers block, so threads wait on locks
    delivery = queue.SimpleQueue()
    total = producers * ITEMS_PER_PRODUCER
    assert total % RELAY_BATCH == 0, "relays must move every item"
    errors = []
    received = [[] for _ in range(consumers)]
    # Producers and consumers are all alive before any of them starts work.
    start_line = threading.Barrier(producers + consumers + 1)
    relay_slots = threading.BoundedSemaphore(relays)

    def producer(index):
        try:
            start_line.wait()
            base = (round_no * producers + index) * ITEMS_PER_PRODUCER
            for item_id in range(base, base + ITEMS_PER_PRODUCER):
                handoff.put((item_id, make_item(item_id)))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(f"producer {index}: {error!r}")

    def relay():
        try:
            for _ in range(RELAY_BATCH):
                item_id, payload = handoff.get()
                # A copy made on this thread, the original freed here.
                delivery.put((item_id, type(payload)(payload)))
        except Exception as error:  # noqa: BLE001
            errors.append(f"relay: {error!r}")
        finally:
            relay_slots.release()

    def consumer(index):
        try:
            start_line.wait()
            while (item := delivery.get()) is not None:
                item_id, payload = item
                if payload != make_item(item_id):
                    errors.append(f"item {item_id} corrupted: {payload!r:.80}")
                received[index].append(item_id)
        except Exception as error:  # noqa: BLE001
            errors.append(f"consumer {index}: {error!r}")

    workers = [threading.Thread(target=producer, args=(i,)) for i in range(producers)]
    workers += [threading.Thread(target=consumer, args=(i,)) for i in range(consumers)]
    for thread in workers:
        thread.start()
    start_line.wait()
    most_alive = threading.active_count()
    # Relays start while earlier ones exit: the churn that reuses slots.
    relay_threads = []
    for _ in range(total // RELAY_BATCH):
        relay_slots.acquire()
        thread = threading.Thread(target=relay)
        thread.start()
        relay_threads.append(thread)
        most_alive = max(most_alive, threading.active_count())
    for thread in relay_threads + workers[:producers]:
        thread.join()
    for _ in range(consumers):
        delivery.put(None)
    for thread in workers[producers:]:
        thread.join()

    got = sorted(item_id for ids in received for item_id in ids)
    first = round_no * producers * ITEMS_PER_PRODUCER
    if got != list(range(first, first + total)):
        errors.append(f"round {round_no}: {len(got)} items arrived of {total}, or duplicates")
    if errors:
        sys.exit("thread_churn_queue: FAILED\n" + "\n".join(errors[:20]))
    return total, most_alive


def main():
    args = [int(a) for a in sys.argv[1:]]
    rounds, producers, consumers, relays = args + [5, 80, 80, 64][len(args):]
    faulthandler.enable()  # a crash prints the Python stacks
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    started = time.monotonic()
    verified = most_alive = 0
    for round_no in range(rounds):
        items, alive = run_round(round_no, producers, consumers, relays)
        verified += items
        most_alive = max(most_alive, alive)
    faulthandler.cancel_dump_traceback_later()
    print(
        f"thread_churn_queue: ok, {rounds} rounds, {verified} items verified, "
        f"up to {most_alive} threads alive, {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()

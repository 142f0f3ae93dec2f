/* Multi-thread stress with cross-thread frees and fork.
 *
 * Worker threads allocate blocks of random sizes (1 B..300 KiB, mostly
 * small) with malloc, calloc and the aligned allocators, fill each with a
 * pattern derived from its address and an id, realloc them, free them, and
 * hand them to other threads through a lock-protected exchange array, so
 * most blocks are freed by a thread other than the one that allocated them.
 * Contents are verified before every free and after every realloc. Workers
 * are created and joined in rounds of different lengths; odd workers exit
 * still holding blocks, which they leave in the exchange for later threads.
 * Meanwhile the main thread forks; each child allocates, verifies, frees
 * some of the blocks the parent's threads left in the exchange, and exits 0.
 * A child that deadlocks is killed by its alarm (SIGALRM) and reported. */
#include "harness.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define WORKERS 6
#define ROUNDS 6
#define BASE_OPS 25000
#define LOCAL_SLOTS 48
#define EXCHANGE_SLOTS 512
#define FORKS_PER_ROUND 8
#define CHILD_ALARM_SECONDS 10

struct block {
    unsigned char *p;
    size_t size;
    uint32_t id;    /* unique per block; with the address it seeds the pattern */
    uint32_t owner; /* worker that allocated it */
};

static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static struct block exchange[EXCHANGE_SLOTS];

static atomic_uint next_block_id = 1;
static atomic_ulong operations;
static atomic_ulong cross_thread_frees;
static atomic_ulong orphans_left;

static uint64_t next_random(uint64_t *state)
{
    /* xorshift64*: deterministic per thread, no shared state. */
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t random_size(uint64_t *rng)
{
    uint64_t r = next_random(rng) % 1000;
    if (r < 900)
        return 1 + next_random(rng) % 512;
    if (r < 990)
        return 513 + next_random(rng) % 16384;
    return 16897 + next_random(rng) % (300 * 1024 - 16896);
}

static uint64_t block_seed(const struct block *b)
{
    return ((uint64_t)(uintptr_t)b->p * 0x9E3779B97F4A7C15ULL) ^ b->id;
}

/* Word-at-a-time pattern: fast enough to fill and check every byte of
 * 300 KiB blocks in a stress loop. */
static void fill_block(const struct block *b)
{
    uint64_t seed = block_seed(b);
    size_t words = b->size / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = seed + i * 0xD6E8FEB86659FD93ULL;
        memcpy(b->p + i * 8, &w, 8);
    }
    for (size_t i = words * 8; i < b->size; i++)
        b->p[i] = (unsigned char)(seed >> (i % 8 * 8)) ^ (unsigned char)i;
}

/* Checks the first `n` bytes as they were filled for block `as_filled`
 * (whose pointer may since have moved by realloc). Returns the offset of the
 * first wrong byte, or n. */
static size_t check_block_prefix(const unsigned char *p, size_t n, const struct block *as_filled)
{
    uint64_t seed = block_seed(as_filled);
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = seed + i * 0xD6E8FEB86659FD93ULL, got;
        memcpy(&got, p + i * 8, 8);
        if (got != w)
            return i * 8;
    }
    for (size_t i = words * 8; i < n; i++) {
        unsigned char want;
        if (i < as_filled->size / 8 * 8) {
            uint64_t w = seed + (i / 8) * 0xD6E8FEB86659FD93ULL;
            want = (unsigned char)(w >> (i % 8 * 8));
        } else {
            want = (unsigned char)(seed >> (i % 8 * 8)) ^ (unsigned char)i;
        }
        if (p[i] != want)
            return i;
    }
    return n;
}

static void verify_block(const struct block *b, const char *when)
{
    size_t bad = check_block_prefix(b->p, b->size, b);
    CHECK(bad == b->size, "%s: block id %u (%zu bytes at %p, from worker %u) corrupted at byte %zu",
          when, b->id, b->size, (void *)b->p, b->owner, bad);
}

static struct block new_block(uint64_t *rng, uint32_t owner)
{
    struct block b = {NULL, random_size(rng), atomic_fetch_add(&next_block_id, 1), owner};
    uint64_t how = next_random(rng) % 100;
    if (how < 75) {
        b.p = malloc(b.size);
    } else if (how < 90) {
        b.p = calloc(1, b.size);
        CHECK(b.p != NULL, "calloc(1, %zu) returned NULL", b.size);
        CHECK(first_byte_not(b.p, b.size, 0) == b.size, "calloc(1, %zu) memory not zero", b.size);
    } else {
        size_t alignment = (size_t)16 << (next_random(rng) % 9); /* 16..4096 */
        if (how < 95) {
            b.p = memalign(alignment, b.size);
        } else {
            void *p = NULL;
            CHECK(posix_memalign(&p, alignment, b.size) == 0, "posix_memalign(%zu, %zu) failed",
                  alignment, b.size);
            b.p = p;
        }
        CHECK(b.p == NULL || is_aligned(b.p, alignment), "aligned block %p not aligned to %zu",
              (void *)b.p, alignment);
    }
    CHECK(b.p != NULL, "allocation of %zu bytes returned NULL", b.size);
    CHECK(is_aligned(b.p, MAX_ALIGN), "block %p of %zu bytes misaligned", (void *)b.p, b.size);
    fill_block(&b);
    return b;
}

static void release_block(struct block *b, uint32_t me, const char *when)
{
    verify_block(b, when);
    if (b->owner != me)
        atomic_fetch_add(&cross_thread_frees, 1);
    free(b->p);
    b->p = NULL;
}

static void resize_block(struct block *b, uint64_t *rng)
{
    verify_block(b, "before realloc");
    struct block old = *b;
    size_t new_size = random_size(rng);
    unsigned char *q = realloc(b->p, new_size);
    CHECK(q != NULL, "realloc(%p, %zu) returned NULL", (void *)b->p, new_size);
    size_t kept = old.size < new_size ? old.size : new_size;
    size_t bad = check_block_prefix(q, kept, &old);
    CHECK(bad == kept, "realloc %zu -> %zu of block id %u lost byte %zu", old.size, new_size,
          old.id, bad);
    b->p = q;
    b->size = new_size;
    fill_block(b);
}

/* Swaps `mine` (possibly empty) with a random exchange slot. */
static void swap_with_exchange(struct block *mine, uint64_t *rng)
{
    size_t slot = next_random(rng) % EXCHANGE_SLOTS;
    pthread_mutex_lock(&exchange_lock);
    struct block theirs = exchange[slot];
    exchange[slot] = *mine;
    pthread_mutex_unlock(&exchange_lock);
    *mine = theirs;
    if (mine->p)
        verify_block(mine, "taken from the exchange");
}

/* Leaves a block in an empty exchange slot for another thread; returns 0 if
 * none was free. */
static int park_in_exchange(const struct block *b)
{
    int parked = 0;
    pthread_mutex_lock(&exchange_lock);
    for (size_t i = 0; i < EXCHANGE_SLOTS && !parked; i++) {
        if (exchange[i].p == NULL) {
            exchange[i] = *b;
            parked = 1;
        }
    }
    pthread_mutex_unlock(&exchange_lock);
    return parked;
}

struct worker_args {
    uint32_t id;
    unsigned ops;
};

static void *worker(void *arg)
{
    const struct worker_args *args = arg;
    uint64_t rng = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)args->id * 0xBF58476D1CE4E5B9ULL);
    struct block local[LOCAL_SLOTS];
    memset(local, 0, sizeof local);

    for (unsigned op = 0; op < args->ops; op++) {
        struct block *b = &local[next_random(&rng) % LOCAL_SLOTS];
        uint64_t what = next_random(&rng) % 100;
        if (b->p == NULL) {
            if (what < 70)
                *b = new_block(&rng, args->id);
            else
                swap_with_exchange(b, &rng);
        } else if (what < 35) {
            release_block(b, args->id, "before free");
        } else if (what < 55) {
            resize_block(b, &rng);
        } else {
            swap_with_exchange(b, &rng);
        }
    }
    atomic_fetch_add(&operations, args->ops);

    /* Odd workers exit holding blocks: they stay in the exchange for other
     * (later) threads to free. Even workers clean up after themselves. */
    for (size_t i = 0; i < LOCAL_SLOTS; i++) {
        if (local[i].p == NULL)
            continue;
        if (args->id % 2 == 1 && park_in_exchange(&local[i]))
            atomic_fetch_add(&orphans_left, 1);
        else
            release_block(&local[i], args->id, "at thread exit");
    }
    return NULL;
}

/* Child side of fork: must not use stdio (another thread may have held its
 * lock at fork time) nor block on the exchange lock. Exit codes say what
 * went wrong. */
static void child_after_fork(unsigned child_number)
{
    alarm(CHILD_ALARM_SECONDS);
    uint64_t rng = 0xA5A5A5A5ULL + child_number;
    struct block mine[32];
    for (int i = 0; i < 32; i++) {
        mine[i].size = random_size(&rng);
        mine[i].id = 1000000 + (uint32_t)i;
        mine[i].owner = 999;
        mine[i].p = malloc(mine[i].size);
        if (mine[i].p == NULL)
            _exit(10);
        fill_block(&mine[i]);
    }
    for (int i = 0; i < 32; i += 2) {
        struct block old = mine[i];
        size_t new_size = random_size(&rng);
        unsigned char *q = realloc(mine[i].p, new_size);
        size_t kept = old.size < new_size ? old.size : new_size;
        if (q == NULL || check_block_prefix(q, kept, &old) != kept)
            _exit(11);
        mine[i].p = q;
        mine[i].size = new_size;
        fill_block(&mine[i]);
    }
    for (int i = 0; i < 32; i++) {
        if (check_block_prefix(mine[i].p, mine[i].size, &mine[i]) != mine[i].size)
            _exit(12);
        free(mine[i].p);
    }
    /* Free blocks the parent's threads allocated, if the exchange was not
     * locked at the moment of the fork (then its contents are consistent). */
    if (pthread_mutex_trylock(&exchange_lock) == 0) {
        for (size_t i = child_number % 7; i < EXCHANGE_SLOTS; i += 7) {
            struct block *b = &exchange[i];
            if (b->p == NULL)
                continue;
            if (check_block_prefix(b->p, b->size, b) != b->size)
                _exit(13);
            free(b->p);
            b->p = NULL;
        }
        pthread_mutex_unlock(&exchange_lock);
    }
    _exit(0);
}

static void describe_status(int status, char *out, size_t n)
{
    if (WIFEXITED(status))
        snprintf(out, n, "exited with %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WTERMSIG(status) == SIGALRM ? ": deadlocked after fork" : "");
    else
        snprintf(out, n, "status 0x%x", status);
}

static unsigned fork_children(unsigned round)
{
    unsigned forked = 0;
    for (unsigned k = 0; k < FORKS_PER_ROUND; k++) {
        unsigned child_number = round * FORKS_PER_ROUND + k;
        fflush(stdout); /* the child must not inherit unwritten output */
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            child_after_fork(child_number);
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed: %s", strerror(errno));
        char text[128];
        describe_status(status, text, sizeof text);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "forked child %u (round %u) %s (10-13: contents check failed)", child_number, round,
              text);
        forked++;
        /* Let the workers move on between forks. */
        usleep(2000);
    }
    return forked;
}

/* Under lwmalloc, live_bytes must come back to where it was once every
 * block is freed, although most were freed by other threads, some of which
 * had exited (their share of the accounting must not be lost). The slack
 * covers what libc itself keeps, such as thread descriptors. */
static void check_live_bytes_returned(lwm_get_stats_fn get_stats, const struct lwm_stats *before)
{
    const uint64_t slack = 256 * 1024;
    struct lwm_stats after;
    memset(&after, 0, sizeof after);
    CHECK(get_stats(&after, sizeof after) == 0, "lwm_get_stats failed");
    CHECK(after.live_bytes <= before->live_bytes + slack,
          "live_bytes %llu before the workers, %llu after all their blocks were freed",
          (unsigned long long)before->live_bytes, (unsigned long long)after.live_bytes);
    CHECK(after.free_calls > before->free_calls + atomic_load(&cross_thread_frees),
          "free_calls %llu -> %llu, fewer than the %lu cross-thread frees alone",
          (unsigned long long)before->free_calls, (unsigned long long)after.free_calls,
          atomic_load(&cross_thread_frees));
    ok("live_bytes back to %llu (was %llu) after cross-thread frees and thread exits",
       (unsigned long long)after.live_bytes, (unsigned long long)before->live_bytes);
}

int main(void)
{
    require_lwmalloc_if_expected();
    lwm_get_stats_fn get_stats = find_lwm_get_stats();
    struct lwm_stats before;
    memset(&before, 0, sizeof before);
    printf("# stress: %d workers, %d rounds\n", WORKERS, ROUNDS);
    fflush(stdout);
    if (get_stats)
        CHECK(get_stats(&before, sizeof before) == 0, "lwm_get_stats failed");
    unsigned forked = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        pthread_t threads[WORKERS];
        struct worker_args args[WORKERS];
        for (uint32_t w = 0; w < WORKERS; w++) {
            /* Different lengths, so some workers exit while others run. */
            args[w] = (struct worker_args){round * WORKERS + w, BASE_OPS / 2 + BASE_OPS * w / 4};
            int rc = pthread_create(&threads[w], NULL, worker, &args[w]);
            CHECK(rc == 0, "pthread_create: %s", strerror(rc));
        }
        forked += fork_children(round);
        for (int w = 0; w < WORKERS; w++) {
            int rc = pthread_join(threads[w], NULL);
            CHECK(rc == 0, "pthread_join: %s", strerror(rc));
        }
        ok("round %u: %d workers joined, exchange verified on every hand-over", round, WORKERS);
    }
    ok("%u forked children allocated, verified, freed parent blocks and exited 0", forked);

    size_t drained = 0;
    for (size_t i = 0; i < EXCHANGE_SLOTS; i++) {
        if (exchange[i].p) {
            release_block(&exchange[i], 4242, "draining the exchange");
            drained++;
        }
    }
    unsigned long cross = atomic_load(&cross_thread_frees);
    unsigned long orphans = atomic_load(&orphans_left);
    CHECK(cross > 1000, "only %lu cross-thread frees: the test did not exercise them", cross);
    CHECK(orphans > 0, "no worker exited holding blocks");
    ok("%lu operations, %lu cross-thread frees, %lu blocks outlived their thread, %zu drained",
       atomic_load(&operations), cross, orphans, drained);
    if (get_stats)
        check_live_bytes_returned(get_stats, &before);
    all_checks_passed("stress");
    return 0;
}

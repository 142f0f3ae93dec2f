/* Regressions found by other people's test suites (CPython's test_queue,
 * glibc's tst-malloc-fork-deadlock, tst-mallocfork2, tst-malloc-thread-fail
 * and tst-free-errno), each rebuilt here in our own words as one group:
 *
 *   many_threads   more threads alive at once than the allocator has
 *                  per-thread caches, each freeing at start a block another
 *                  thread filled (as CPython's thread bootstrap does);
 *   fork_stdio     fork while other threads sit in fflush(NULL) and getline;
 *   fork_signal    fork from a signal handler that interrupts malloc, in a
 *                  process that never created a thread;
 *   errno_kept     errno unchanged by successful calls under contention;
 *   errno_map_limit  and by free() when munmap fails at the map-count limit;
 *   fork_slot_reuse  (our own, coverage rather than a rebuilt failure) a
 *                  fork child whose short-lived threads, one after another,
 *                  reuse per-thread slots and free the blocks of a thread
 *                  the fork left behind, keeping blocks of their own whose
 *                  contents are checked at the end;
 *   fork_again     (our own, from CPython's test_multiprocessing_fork) the
 *                  fork child of a threaded process starts a thread and
 *                  forks again: the fork handlers of the first fork must
 *                  leave no lock held that the second one takes.
 *
 * Hangs are caught by alarm(), which names the group. */
#include "harness.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

static const char *current_group = "?";

static void on_alarm(int signo)
{
    (void)signo;
    char line[160];
    int n = snprintf(line, sizeof line, "FAIL regressions %s: hung (alarm)\n", current_group);
    if (write(2, line, (size_t)n) < 0 || write(1, line, (size_t)n) < 0) {
        /* nothing more to do */
    }
    _exit(3);
}

static void guard(const char *group, unsigned seconds)
{
    current_group = group;
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- many_threads ---------------------------------------------------- */

enum { CROWD = 600, CROWD_ROUNDS = 3 };

struct crowd {
    pthread_barrier_t started, finish;
    void *handoff[CROWD];
    atomic_uint failures;
};

static void crowd_fill(void *p, size_t n, unsigned seed)
{
    fill_pattern(p, n, seed);
    /* A first word that is not a heap address, as a function pointer in
     * CPython's thread bootstrap record: whatever the allocator takes for a
     * link here must not be followed. */
    *(void **)p = (void *)(uintptr_t)&crowd_fill;
}

static void *crowd_member(void *arg)
{
    struct crowd *c = ((void **)arg)[0];
    size_t me = (size_t)(uintptr_t)((void **)arg)[1];
    /* First call of the thread: free what another thread made. */
    free(c->handoff[me]);
    void *mine[8];
    for (size_t i = 0; i < 8; i++) {
        size_t n = 16 + (me * 7 + i * 29) % 300;
        mine[i] = malloc(n);
        if (mine[i] == NULL) {
            c->failures++;
            return NULL;
        }
        crowd_fill(mine[i], n, (unsigned)(me + i));
    }
    pthread_barrier_wait(&c->started);
    for (size_t i = 0; i < 8; i++)
        free(mine[i]);
    pthread_barrier_wait(&c->finish);
    return NULL;
}

static void many_threads(void)
{
    guard("many_threads", 60);
    static struct crowd c;
    static void *args[CROWD][2];
    pthread_t threads[CROWD];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (int round = 0; round < CROWD_ROUNDS; round++) {
        pthread_barrier_init(&c.started, NULL, CROWD + 1);
        pthread_barrier_init(&c.finish, NULL, CROWD + 1);
        for (size_t i = 0; i < CROWD; i++) {
            c.handoff[i] = malloc(16);
            CHECK(c.handoff[i] != NULL, "malloc(16) failed");
            crowd_fill(c.handoff[i], 16, (unsigned)i);
            args[i][0] = &c;
            args[i][1] = (void *)(uintptr_t)i;
        }
        for (size_t i = 0; i < CROWD; i++) {
            int e = pthread_create(&threads[i], &attr, crowd_member, args[i]);
            CHECK(e == 0, "pthread_create %zu: %s", i, strerror(e));
        }
        pthread_barrier_wait(&c.started);
        pthread_barrier_wait(&c.finish);
        for (size_t i = 0; i < CROWD; i++)
            pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&c.started);
        pthread_barrier_destroy(&c.finish);
        CHECK(c.failures == 0, "%u allocations failed", c.failures);
    }
    pthread_attr_destroy(&attr);
    ok("%d rounds of %d threads alive at once, each freeing another's block first",
       CROWD_ROUNDS, CROWD);
}

/* ---- fork_stdio -------------------------------------------------------- */

static atomic_int stdio_stop;

static void *flusher(void *arg)
{
    (void)arg;
    while (!stdio_stop)
        fflush(NULL);
    return NULL;
}

/* getline holds its FILE's lock while it grows the line buffer with
 * realloc: the third party of the deadlock. */
static void *line_reader(void *arg)
{
    FILE *f = arg;
    char *line = NULL;
    size_t cap = 0;
    while (!stdio_stop) {
        rewind(f);
        while (getline(&line, &cap, f) > 0) {
            free(line);
            line = NULL;
            cap = 0;
        }
    }
    free(line);
    return NULL;
}

static void *churner(void *arg)
{
    (void)arg;
    unsigned seed = 1;
    while (!stdio_stop) {
        void *p[16];
        for (int i = 0; i < 16; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = malloc(16 + seed % 5000);
        }
        for (int i = 0; i < 16; i++)
            free(p[i]);
    }
    return NULL;
}

static void fork_stdio(void)
{
    guard("fork_stdio", 60);
    FILE *f = tmpfile();
    CHECK(f != NULL, "tmpfile: %s", strerror(errno));
    for (int i = 0; i < 200; i++)
        fprintf(f, "%0*d\n", 10 + (i * 37) % 3000, i);
    fflush(f);
    pthread_t threads[5];
    CHECK(pthread_create(&threads[0], NULL, flusher, NULL) == 0, "pthread_create");
    CHECK(pthread_create(&threads[1], NULL, flusher, NULL) == 0, "pthread_create");
    CHECK(pthread_create(&threads[2], NULL, line_reader, f) == 0, "pthread_create");
    CHECK(pthread_create(&threads[3], NULL, line_reader, f) == 0, "pthread_create");
    CHECK(pthread_create(&threads[4], NULL, churner, NULL) == 0, "pthread_create");
    int forks = 0;
    double end = now_seconds() + 3.0;
    while (now_seconds() < end) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            /* The child may allocate and use stdio: its locks are sane. */
            void *p = malloc(1000);
            char *s = strdup("child");
            _exit(p != NULL && s != NULL && fflush(NULL) == 0 ? 0 : 1);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
        forks++;
    }
    stdio_stop = 1;
    for (int i = 0; i < 5; i++)
        pthread_join(threads[i], NULL);
    fclose(f);
    ok("%d forks while threads ran fflush(NULL), getline and malloc", forks);
}

/* ---- fork_signal ------------------------------------------------------- */

static volatile sig_atomic_t signal_forks, signal_fork_errors;
/* Signals handled so far, in memory shared with the sender. */
static atomic_uint *signals_handled;

static void fork_in_handler(int signo)
{
    (void)signo;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0 || waitpid(pid, NULL, 0) != pid)
        signal_fork_errors++;
    else
        signal_forks++;
    atomic_fetch_add(signals_handled, 1);
    errno = saved;
}

/* Sends SIGUSR1 to the parent until it is gone, each signal only once the
 * one before was handled, then after a pause in which the parent's loop
 * runs. Unpaced, a handler slower than the sender's period (a fork on an
 * emulated board takes milliseconds) finds the next signal pending each
 * time it returns, and the loop the signals must interrupt never runs: a
 * hang under any allocator. */
static _Noreturn void send_signals(pid_t parent)
{
    for (unsigned sent = 1;; sent++) {
        if (kill(parent, SIGUSR1) != 0)
            _exit(0);
        while (atomic_load(signals_handled) < sent) {
            if (kill(parent, 0) != 0)
                _exit(0);
            usleep(50);
        }
        usleep(200);
    }
}

static void fork_signal(void)
{
    guard("fork_signal", 60);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = fork_in_handler;
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0, "sigaction: %s", strerror(errno));
    /* A process, not a thread, sends the signals: this one must stay
     * single-threaded, the case where glibc lets fork run in a handler. */
    signals_handled = mmap(NULL, sizeof *signals_handled, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(signals_handled != MAP_FAILED, "mmap: %s", strerror(errno));
    pid_t parent = getpid();
    pid_t sender = fork();
    CHECK(sender >= 0, "fork: %s", strerror(errno));
    if (sender == 0)
        send_signals(parent);
    void *blocks[64] = {0};
    unsigned seed = 7;
    double end = now_seconds() + 3.0;
    long calls = 0;
    while (now_seconds() < end) {
        for (int i = 0; i < 64; i++) {
            seed = seed * 1103515245u + 12345u;
            free(blocks[i]);
            /* Small, medium and mapped sizes: every lock the allocator has. */
            size_t n = (seed >> 4) % 4 == 0 ? 200000 : 16 + (seed >> 8) % 3000;
            blocks[i] = malloc(n);
            CHECK(blocks[i] != NULL, "malloc(%zu) failed", n);
            calls += 2;
        }
    }
    kill(sender, SIGKILL);
    waitpid(sender, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
    for (int i = 0; i < 64; i++)
        free(blocks[i]);
    CHECK(signal_fork_errors == 0, "%d forks from the handler failed", (int)signal_fork_errors);
    CHECK(signal_forks > 10, "only %d signals arrived", (int)signal_forks);
    ok("%d forks from a signal handler interrupting %ld malloc/free calls", (int)signal_forks,
       calls);
}

/* ---- errno_kept -------------------------------------------------------- */

enum { ERRNO_SENTINEL = 1789 };
static atomic_int errno_stop;
static atomic_long errno_changes, errno_calls;

#define EXPECT_ERRNO_KEPT(call)                                                            \
    do {                                                                                   \
        errno = ERRNO_SENTINEL;                                                            \
        call;                                                                              \
        if (errno != ERRNO_SENTINEL)                                                       \
            errno_changes++;                                                               \
        errno_calls++;                                                                     \
    } while (0)

/* Every call here succeeds; a lock contended between the threads makes the
 * allocator wait in the kernel, which reports EAGAIN when the lock was
 * already free again. */
static void *errno_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *p[32] = {0};
    while (!errno_stop) {
        for (int i = 0; i < 32; i++) {
            seed = seed * 1103515245u + 12345u;
            size_t n = 16 + (seed >> 8) % (seed % 8 == 0 ? 300000 : 4000);
            void *q;
            EXPECT_ERRNO_KEPT(free(p[i]));
            switch (seed % 4) {
            case 0:
                EXPECT_ERRNO_KEPT(q = malloc(n));
                break;
            case 1:
                EXPECT_ERRNO_KEPT(q = calloc(1, n));
                break;
            case 2:
                q = NULL;
                EXPECT_ERRNO_KEPT(if (posix_memalign(&q, 128, n) != 0) q = NULL);
                break;
            default:
                EXPECT_ERRNO_KEPT(q = realloc(malloc(8), n));
                break;
            }
            if (q == NULL)
                abort();
            p[i] = q;
        }
    }
    for (int i = 0; i < 32; i++)
        free(p[i]);
    return NULL;
}

static void errno_under_contention(void)
{
    /* More threads than CPUs, and more than the arenas: the locks are
     * contended. */
    enum { WORKERS = 8 };
    pthread_t threads[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        CHECK(pthread_create(&threads[i], NULL, errno_worker, (void *)(uintptr_t)(i + 1)) == 0,
              "pthread_create");
    usleep(1500 * 1000);
    errno_stop = 1;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    CHECK(errno_changes == 0, "%ld of %ld successful calls changed errno", (long)errno_changes,
          (long)errno_calls);
    ok("errno unchanged by %ld successful calls from %d contending threads", (long)errno_calls,
       WORKERS);
}

/* free() of a block with its own mapping, when the kernel must split a
 * mapping to unmap it and the process is at its map-count limit: munmap
 * fails with ENOMEM, and free must still leave errno alone. */
static void errno_at_map_limit(void)
{
    FILE *limit = fopen("/proc/sys/vm/max_map_count", "r");
    if (limit == NULL) {
        ok("# SKIP free at the map-count limit: no /proc/sys/vm/max_map_count");
        return;
    }
    fclose(limit);
    size_t page = page_size();
    size_t big = 8u << 20;
    /* A read-only bumper first: mappings are placed top-down, so the
     * block's own mapping should land right below it, and the page we map
     * over above the block is then the bumper's, not someone else's. */
    size_t bumper_len = 32u << 20;
    char *bumper = mmap(NULL, bumper_len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(bumper != MAP_FAILED, "mmap bumper: %s", strerror(errno));
    char *p = malloc(big);
    CHECK(p != NULL, "malloc(%zu) failed", big);
    memset(p, 0x5a, big);
    /* Widen the block's mapping by a read-write page on each side, which
     * the kernel merges into one area: unmapping just the block then means
     * splitting that area in the middle, which needs one more map entry. */
    char *start = (char *)((uintptr_t)p & ~(uintptr_t)(page - 1));
    char *end = (char *)(((uintptr_t)p + big + page - 1) & ~(uintptr_t)(page - 1));
    int above_is_bumper = end >= bumper && end + page <= bumper + bumper_len;
    void *below = mmap(start - page, page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    /* Above the block: the bumper's first page (replaced), or a free page. */
    void *above = mmap(end, page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (above_is_bumper ? MAP_FIXED : MAP_FIXED_NOREPLACE),
                       -1, 0);
    if (below != start - page || above != end) {
        ok("# SKIP free at the map-count limit: the pages around the block are taken");
        free(p);
        return;
    }
    /* Fill the map count: one-page file mappings never merge. */
    char path[] = "/tmp/lwm-regressions-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(path);
    CHECK(ftruncate(fd, (off_t)page) == 0, "ftruncate: %s", strerror(errno));
    int mappings = 0;
    while (mappings < 70000 &&
           mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0) != MAP_FAILED)
        mappings++;
    errno = ERRNO_SENTINEL;
    free(p);
    int after = errno;
    CHECK(after == ERRNO_SENTINEL, "free() at the map-count limit changed errno to %d (%s)",
          after, strerror(after));
    ok("errno unchanged by free() with %d extra mappings (at the limit)", mappings);
    /* The extra mappings and the leaked block go away with the process. */
    close(fd);
}

static void errno_kept(void)
{
    guard("errno_kept", 60);
    errno = ERRNO_SENTINEL;
    free(NULL);
    CHECK(errno == ERRNO_SENTINEL, "free(NULL) changed errno to %d", errno);
    errno_under_contention();
}

/* A group of its own: it leaves the process at its map-count limit. */
static void errno_map_limit(void)
{
    guard("errno_map_limit", 60);
    errno_at_map_limit();
}

/* ---- fork_slot_reuse ---------------------------------------------------- */

#define HELD_BLOCKS 2048
#define CHILD_THREADS 72
#define KEPT_PER_THREAD 32
static void *held[HELD_BLOCKS];
static unsigned char *kept[CHILD_THREADS][KEPT_PER_THREAD];
static atomic_int holder_ready, holder_release;

static void *hold_blocks(void *arg)
{
    (void)arg;
    for (int i = 0; i < HELD_BLOCKS; i++) {
        held[i] = malloc(48);
        if (held[i] == NULL)
            abort();
        memset(held[i], 0x5a, 48);
    }
    atomic_store(&holder_ready, 1);
    while (!atomic_load(&holder_release))
        usleep(1000);
    for (int i = 0; i < HELD_BLOCKS; i++)
        free(held[i]);
    return NULL;
}

/* Child side: no stdio; the exit code says what went wrong. */
static void *child_thread(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int j = 0; j < KEPT_PER_THREAD; j++) {
        kept[n][j] = malloc(48);
        if (kept[n][j] == NULL)
            _exit(10);
        memset(kept[n][j], n, 48);
    }
    for (int i = n; i < HELD_BLOCKS; i += CHILD_THREADS) {
        unsigned char *b = held[i];
        for (int k = 0; k < 48; k++)
            if (b[k] != 0x5a)
                _exit(11);
        free(b);
    }
    return NULL;
}

static void fork_slot_reuse(void)
{
    guard("fork_slot_reuse", 60);
    pthread_t holder;
    CHECK(pthread_create(&holder, NULL, hold_blocks, NULL) == 0, "pthread_create failed");
    while (!atomic_load(&holder_ready))
        usleep(1000);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        alarm(30);
        /* One thread at a time: each takes the lowest free slot. */
        for (int n = 0; n < CHILD_THREADS; n++) {
            pthread_t t;
            if (pthread_create(&t, NULL, child_thread, (void *)(intptr_t)n) != 0)
                _exit(12);
            pthread_join(t, NULL);
        }
        /* Blocks handed out twice would have been overwritten. */
        for (int n = 0; n < CHILD_THREADS; n++)
            for (int j = 0; j < KEPT_PER_THREAD; j++)
                for (int k = 0; k < 48; k++)
                    if (kept[n][j][k] != (unsigned char)n)
                        _exit(13);
        for (int i = 0; i < HELD_BLOCKS; i++) {
            unsigned char *b = malloc(48);
            if (b == NULL)
                _exit(14);
            memset(b, 0xa5, 48);
            held[i] = b;
        }
        for (int n = 0; n < CHILD_THREADS; n++)
            for (int j = 0; j < KEPT_PER_THREAD; j++)
                for (int k = 0; k < 48; k++)
                    if (kept[n][j][k] != (unsigned char)n)
                        _exit(15);
        _exit(0);
    }
    atomic_store(&holder_release, 1);
    pthread_join(holder, NULL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "fork child failed (exit %d, signal %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ok("%d threads of a fork child, one after another, freed %d blocks of a thread lost to fork",
       CHILD_THREADS, HELD_BLOCKS);
}

/* ---- fork_again ------------------------------------------------------- */

static void *churn_briefly(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        free(malloc(16 + (size_t)(i % 2000)));
    return NULL;
}

/* Exit status of the child: 0, or where it failed. */
static int fork_again_child(void)
{
    alarm(30);
    pthread_t t;
    if (pthread_create(&t, NULL, churn_briefly, NULL) != 0)
        return 21;
    pthread_join(t, NULL);
    /* A process that has had a thread stays "multi-threaded" for glibc,
     * so this fork runs the allocator's fork handlers in full. */
    pid_t grandchild = fork();
    if (grandchild < 0)
        return 22;
    if (grandchild == 0) {
        void *p = malloc(5000), *q = malloc(100);
        _exit(p != NULL && q != NULL ? 0 : 23);
    }
    free(malloc(300));
    int status = 0;
    if (waitpid(grandchild, &status, 0) != grandchild)
        return 24;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 25;
}

static void fork_again(void)
{
    guard("fork_again", 60);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, churn_briefly, NULL) == 0, "pthread_create failed");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0)
        _exit(fork_again_child());
    pthread_join(t, NULL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "fork child failed (exit %d, signal %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
          WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    ok("the fork child of a threaded process started a thread and forked again");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static const struct test_group groups[] = {
        {"many_threads", many_threads},
        {"fork_stdio", fork_stdio},
        {"fork_signal", fork_signal},
        {"errno_kept", errno_kept},
        {"errno_map_limit", errno_map_limit},
        {"fork_slot_reuse", fork_slot_reuse},
        {"fork_again", fork_again},
    };
    return run_test_groups("regressions", argc, argv, groups, sizeof groups / sizeof groups[0]);
}

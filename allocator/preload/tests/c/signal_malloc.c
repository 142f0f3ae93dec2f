/* malloc and friends called from signal handlers, the first of them before
 * main itself has allocated anything (under LD_PRELOAD the dynamic linker or
 * libc may already have; what matters is that a handler's allocations work,
 * including one that may trigger the allocator's lazy initialisation). The
 * handlers interrupt no allocation, so this is well defined. */
#include "harness.h"

#include <malloc.h>
#include <signal.h>

/* What the handlers saw; checked (and printed) by main afterwards, since
 * stdio is not async-signal-safe. */
static volatile sig_atomic_t handler_runs;
static volatile sig_atomic_t handler_failures;
static void *volatile kept_from_handler;

static void allocate_in_handler(int signo)
{
    (void)signo;
    handler_runs++;
    unsigned char *p = malloc(100);
    unsigned char *z = calloc(32, 32);
    if (p == NULL || z == NULL || !is_aligned(p, MAX_ALIGN) || !is_aligned(z, MAX_ALIGN)) {
        handler_failures++;
        return;
    }
    fill_pattern(p, 100, 5);
    if (first_byte_not(z, 1024, 0) != 1024)
        handler_failures++;
    p = realloc(p, 200000);
    if (p == NULL || first_pattern_mismatch(p, 100, 5) != 100)
        handler_failures++;
    void *a = NULL;
    if (posix_memalign(&a, 4096, 300) != 0 || !is_aligned(a, 4096))
        handler_failures++;
    free(a);
    free(z);
    /* One block outlives the handler and is freed by main. */
    if (kept_from_handler == NULL)
        kept_from_handler = p;
    else
        free(p);
}

static void install(int signo)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = allocate_in_handler;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, NULL) != 0)
        _exit(3);
}

int main(void)
{
    /* Nothing before this allocates: sigaction and raise do not. */
    install(SIGUSR1);
    install(SIGALRM);
    raise(SIGUSR1);
    raise(SIGALRM);
    raise(SIGUSR1);

    require_lwmalloc_if_expected();
    CHECK(handler_runs == 3, "handlers ran %d times, expected 3", (int)handler_runs);
    CHECK(handler_failures == 0, "%d allocation checks failed inside the handlers",
          (int)handler_failures);
    ok("malloc/calloc/realloc/posix_memalign/free inside SIGUSR1 and SIGALRM handlers, the "
       "first before main allocated");

    unsigned char *kept = kept_from_handler;
    CHECK(kept != NULL && first_pattern_mismatch(kept, 100, 5) == 100,
          "block allocated in the handler lost its contents");
    free(kept);
    ok("a block allocated in a handler is intact and freeable in main");

    /* A handler run while main holds many live blocks. */
    void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = malloc((size_t)i * 37);
    raise(SIGALRM);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    CHECK(handler_failures == 0, "handler failed with a busy heap");
    ok("handler allocations work with a busy heap");
    all_checks_passed("signal_malloc");
    return 0;
}

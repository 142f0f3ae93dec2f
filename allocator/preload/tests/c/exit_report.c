/* A known number of allocation calls, then a normal exit: with LWM_STATS=1
 * the harness checks the one-line report lwmalloc prints on stderr at exit.
 * With argument "fork" a child does the same and exits too, so two reports
 * appear, each with its own pid. With "busy_threads" main returns while two
 * threads are still allocating: the report must still come out once, with
 * no deadlock on a lock those threads may hold. Prints its pid(s) on
 * stdout. */
#include "harness.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/wait.h>

enum { MALLOCS = 10, FREES = 7, REALLOCS = 3, CALLOCS = 2, ALIGNED = 4 };

static void known_calls(void)
{
    void *p[MALLOCS];
    for (int i = 0; i < MALLOCS; i++) {
        p[i] = malloc(100 + (size_t)i * 1000);
        CHECK(p[i] != NULL, "malloc returned NULL");
    }
    for (int i = 0; i < REALLOCS; i++) {
        p[i] = realloc(p[i], 50000);
        CHECK(p[i] != NULL, "realloc returned NULL");
    }
    void *c1 = calloc(10, 10), *c2 = calloc(1, 200000);
    void *a1 = memalign(64, 64), *a2 = aligned_alloc(4096, 4096), *a3 = valloc(1), *a4 = NULL;
    CHECK(posix_memalign(&a4, 256, 10) == 0, "posix_memalign failed");
    CHECK(c1 && c2 && a1 && a2 && a3 && a4, "an allocation returned NULL");
    for (int i = 0; i < FREES; i++)
        free(p[i]);
    /* The rest stays live on purpose: live= must then be non-zero. */
}

static void *allocate_forever(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    for (;;) {
        void *p = malloc(n);
        void *q = realloc(p, n * 3);
        free(q ? q : p);
        n = n * 7 % 100000 + 1;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int with_fork = argc == 2 && strcmp(argv[1], "fork") == 0;
    int with_busy_threads = argc == 2 && strcmp(argv[1], "busy_threads") == 0;
    require_lwmalloc_if_expected();
    known_calls();
    if (with_busy_threads) {
        for (uintptr_t i = 1; i <= 2; i++) {
            pthread_t thread;
            int rc = pthread_create(&thread, NULL, allocate_forever, (void *)(i * 1000));
            CHECK(rc == 0, "pthread_create: %s", strerror(rc));
        }
        usleep(50 * 1000); /* let them get going; then exit under their feet */
    }
    if (with_fork) {
        fflush(stdout);
        pid_t child = fork();
        CHECK(child >= 0, "fork failed: %s", strerror(errno));
        if (child == 0) {
            known_calls();
            exit(0); /* a normal exit: the child reports too */
        }
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child, "waitpid failed");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
        printf("child_pid=%d\n", (int)child);
    }
    printf("pid=%d\n", (int)getpid());
    all_checks_passed("exit_report");
    return 0;
}

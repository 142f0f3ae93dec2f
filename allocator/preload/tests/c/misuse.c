/* One misuse per process, named by argv[1]: freeing or reallocating a
 * pointer the allocator never returned, or freeing a block twice. lwmalloc
 * must print one "lwmalloc: ..." line naming the function and abort; the
 * harness checks for SIGABRT and the message. If the call returns, this
 * program says so and exits 3. lwmalloc-only: glibc detects other cases,
 * and differently. */
#include "harness.h"

#include <sys/mman.h>
#include <sys/resource.h>

static _Alignas(16) unsigned char static_buffer[256];

/* Some ordinary traffic first, so the misuse hits an initialised heap with
 * neighbours around the victim. */
static void warm_up_heap(void)
{
    static void *keep[64];
    for (int i = 0; i < 64; i++) {
        keep[i] = malloc((size_t)(i * 97) % 5000 + 1);
        CHECK(keep[i] != NULL, "warm-up malloc returned NULL");
    }
    for (int i = 0; i < 64; i += 2)
        free(keep[i]);
}

static unsigned char *allocated(size_t n)
{
    unsigned char *p = malloc(n);
    CHECK(p != NULL, "malloc(%zu) returned NULL", n);
    memset(p, 0x42, n);
    return p;
}

static void misuse_not_detected(const char *scenario)
{
    printf("not ok - misuse '%s' was not detected: the call returned\n", scenario);
    fflush(stdout);
    _exit(3);
}

static void free_foreign(void *p, const char *scenario)
{
    printf("# %s: free(%p)\n", scenario, p);
    fflush(stdout);
    free(launder(p));
    misuse_not_detected(scenario);
}

static void realloc_foreign(void *p, const char *scenario)
{
    printf("# %s: realloc(%p, 100)\n", scenario, p);
    fflush(stdout);
    void *volatile q = realloc(launder(p), 100);
    (void)q;
    misuse_not_detected(scenario);
}

static void double_free(size_t n, const char *scenario)
{
    unsigned char *p = allocated(n);
    free(p);
    printf("# %s: second free(%p) of a %zu-byte block\n", scenario, (void *)p, n);
    fflush(stdout);
    free(launder(p));
    misuse_not_detected(scenario);
}

/* realloc(p, ..) of a block already freed: a double free through realloc. */
static void realloc_after_free(size_t n, const char *scenario)
{
    unsigned char *p = allocated(n);
    free(p);
    realloc_foreign(p, scenario);
}

/* A realloc that moves the block frees the old one: freeing the old pointer
 * afterwards is a double free. */
static void free_after_moving_realloc(const char *scenario)
{
    unsigned char *p = allocated(24);
    unsigned char *q = realloc(p, 300000);
    CHECK(q != NULL && q != p, "realloc(24 -> 300000) did not move the block");
    printf("# %s: free(%p) after realloc moved it to %p\n", scenario, (void *)p, (void *)q);
    fflush(stdout);
    free(launder(p));
    misuse_not_detected(scenario);
}

int main(int argc, char **argv)
{
    /* The expected abort must not leave core files behind. */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    if (argc != 2) {
        fprintf(stderr, "usage: misuse SCENARIO\n");
        return 2;
    }
    const char *s = argv[1];
    require_lwmalloc_if_expected();
    warm_up_heap();
    _Alignas(16) unsigned char stack_buffer[256];
    memset(stack_buffer, 0, sizeof stack_buffer);

    if (strcmp(s, "free_interior_16") == 0)
        free_foreign(allocated(64) + 16, s);
    else if (strcmp(s, "free_interior_32") == 0)
        free_foreign(allocated(64) + 32, s);
    else if (strcmp(s, "free_large_interior_32") == 0)
        free_foreign(allocated(300000) + 32, s);
    else if (strcmp(s, "free_stack") == 0)
        free_foreign(stack_buffer + 64, s);
    else if (strcmp(s, "free_static") == 0)
        free_foreign(static_buffer + 64, s);
    else if (strcmp(s, "free_mmap_page") == 0) {
        unsigned char *page = mmap(NULL, 2 * page_size(), PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(page != MAP_FAILED, "mmap failed: %s", strerror(errno));
        free_foreign(page + 64, s);
    } else if (strcmp(s, "realloc_interior_16") == 0)
        realloc_foreign(allocated(64) + 16, s);
    else if (strcmp(s, "realloc_interior_32") == 0)
        realloc_foreign(allocated(64) + 32, s);
    else if (strcmp(s, "realloc_large_interior_32") == 0)
        realloc_foreign(allocated(300000) + 32, s);
    else if (strcmp(s, "realloc_stack") == 0)
        realloc_foreign(stack_buffer + 64, s);
    else if (strcmp(s, "realloc_static") == 0)
        realloc_foreign(static_buffer + 64, s);
    else if (strcmp(s, "realloc_after_free_24") == 0)
        realloc_after_free(24, s);
    else if (strcmp(s, "free_after_moving_realloc") == 0)
        free_after_moving_realloc(s);
    else if (strcmp(s, "double_free_24") == 0)
        double_free(24, s);
    else if (strcmp(s, "double_free_4000") == 0)
        double_free(4000, s);
    else if (strcmp(s, "double_free_300000") == 0)
        double_free(300000, s);
    else {
        fprintf(stderr, "misuse: unknown scenario '%s'\n", s);
        return 2;
    }
    return 4; /* not reached: each scenario aborts or exits 3 */
}

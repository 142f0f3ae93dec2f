/* Shared helpers of the C test programs: TAP-like "ok N - ..." output,
 * CHECK macros that stop at the first failure with file, line, expression
 * and values, the "is lwmalloc really loaded" proof, and ways to hide values
 * from the compiler so it cannot fold or elide the calls under test. */
#ifndef LWM_TEST_HARNESS_H
#define LWM_TEST_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ALIGN ((size_t)_Alignof(max_align_t))

static unsigned checks_passed;

/* Prints "ok N - description"; flushed at once so the lines survive an
 * abort of the process later on. */
__attribute__((format(printf, 1, 2))) static inline void ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok %u - ", ++checks_passed);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

__attribute__((noreturn, format(printf, 4, 5))) static inline void
fail_at(const char *file, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;
    printf("not ok %u - %s:%d: check `%s` failed: ", checks_passed + 1, file, line, expr);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    fprintf(stderr, "FAIL %s:%d: check `%s` failed: ", file, line, expr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* _exit: do not run exit handlers on a broken heap. */
    _exit(1);
}

/* CHECK(cond, "fmt", values...): the values say what was observed. */
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__);                               \
    } while (0)

/* Hide a size from the optimiser: gcc warns (-Walloc-size-larger-than) and may
 * fold calls whose arguments it can see are absurd, which are exactly the
 * calls these tests make on purpose. */
static inline size_t opaque_size(size_t n)
{
    __asm__ volatile("" : "+r"(n));
    return n;
}

/* Hide where a pointer comes from, so gcc neither warns about freeing a
 * non-heap object or a freed pointer nor reasons about it. */
static inline void *launder(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

static inline int is_aligned(const void *p, size_t alignment)
{
    return ((uintptr_t)p & (alignment - 1)) == 0;
}

/* A byte pattern that depends on the position (not periodic in 256, so a
 * block copied to a shifted place is noticed) and on a per-block seed. */
static inline unsigned char pattern_byte(size_t i, unsigned seed)
{
    size_t x = i ^ (i >> 8) ^ (i >> 16) ^ ((size_t)seed * 0x9E3779B1u);
    return (unsigned char)(x * 0x2Fu + (x >> 11) + seed);
}

static inline void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(i, seed);
}

/* Index of the first byte that differs from the pattern, or n if none. */
static inline size_t first_pattern_mismatch(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, seed))
            return i;
    return n;
}

static inline size_t first_byte_not(const void *p, size_t n, unsigned char value)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value)
            return i;
    return n;
}

static inline size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Does the definition the dynamic linker binds `name` to live in
 * liblwmalloc? */
static inline int symbol_is_from_lwmalloc(const char *name, const char **where)
{
    Dl_info info = {0};
    void *address = dlsym(RTLD_DEFAULT, name);
    *where = "(not found)";
    if (address == NULL || dladdr(address, &info) == 0 || info.dli_fname == NULL)
        return 0;
    *where = info.dli_fname;
    return strstr(info.dli_fname, "liblwmalloc") != NULL;
}

static inline int expecting_lwmalloc(void)
{
    const char *expect = getenv("LWM_EXPECT");
    return expect != NULL && strcmp(expect, "1") == 0;
}

/* With LWM_EXPECT=1 (set by the harness when it preloads the library) the
 * program refuses to pass unless lwmalloc really serves the allocations:
 * otherwise a silently ignored LD_PRELOAD would test glibc instead. */
static inline void require_lwmalloc_if_expected(void)
{
    static const char *const exported[] = {
        "malloc",        "free",           "calloc",        "realloc",
        "reallocarray",  "memalign",       "posix_memalign", "aligned_alloc",
        "valloc",        "pvalloc",        "malloc_usable_size", "lwm_get_stats",
    };
    if (!expecting_lwmalloc())
        return;
    CHECK(dlsym(RTLD_DEFAULT, "lwm_get_stats") != NULL, "lwm_get_stats not found: %s",
          "LD_PRELOAD of liblwmalloc.so did not take effect");
    Dl_info info = {0};
    CHECK(dladdr((void *)malloc, &info) != 0 && info.dli_fname != NULL &&
              strstr(info.dli_fname, "liblwmalloc") != NULL,
          "malloc resolves to %s", info.dli_fname ? info.dli_fname : "(unknown)");
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        const char *where;
        CHECK(symbol_is_from_lwmalloc(exported[i], &where), "%s is bound to %s, not liblwmalloc",
              exported[i], where);
    }
    ok("lwmalloc is loaded and binds all %zu exported functions",
       sizeof exported / sizeof exported[0]);
}

/* lwm_get_stats, looked up at run time so the programs also run (and pass)
 * against glibc, where it does not exist. */
#include "lwmalloc.h"
typedef int (*lwm_get_stats_fn)(struct lwm_stats *, size_t);

static inline lwm_get_stats_fn find_lwm_get_stats(void)
{
    return (lwm_get_stats_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "lwm_get_stats");
}

/* Last line of every program: the harness requires it, so a program that
 * exits 0 half way is not taken as a pass. */
static inline void all_checks_passed(const char *program)
{
    printf("# %s: all %u checks passed\n", program, checks_passed);
    fflush(stdout);
}

/* A program is a list of named groups; the harness runs one group per
 * process (argv[1]) so each group is its own Rust test, and a crash in one
 * group names that group. Without an argument all groups run. */
struct test_group {
    const char *name;
    void (*run)(void);
};

static inline int run_test_groups(const char *program, int argc, char **argv,
                           const struct test_group *groups, size_t count)
{
    int ran = 0;
    if (argc > 2) {
        fprintf(stderr, "usage: %s [group]\n", program);
        return 2;
    }
    require_lwmalloc_if_expected();
    for (size_t i = 0; i < count; i++) {
        if (argc == 2 && strcmp(argv[1], groups[i].name) != 0)
            continue;
        printf("# %s: group %s\n", program, groups[i].name);
        groups[i].run();
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "%s: unknown group '%s'\n", program, argv[1]);
        return 2;
    }
    all_checks_passed(program);
    return 0;
}

#endif

/* realloc and reallocarray with glibc 2.36 semantics. */
#include "harness.h"

#include <malloc.h>

/* Small, medium, around the ~128 KiB mmap threshold, and multi-MiB. */
static const size_t sizes[] = {
    1,          8,          15,     16,     24,     100,    1000,    4000,
    4096,       65536,      126976, 131056, 131072, 131088, 200000, 1 << 20,
    (3 << 20) + 5, 8 << 20,
};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static void check_pattern(const void *p, size_t n, unsigned seed, const char *what, size_t from,
                          size_t to)
{
    size_t bad = first_pattern_mismatch(p, n, seed);
    CHECK(bad == n, "%s %zu -> %zu: byte %zu of the kept %zu bytes changed", what, from, to, bad,
          n);
}

static void realloc_null_is_malloc(void)
{
    const size_t n_list[] = {0, 1, 24, 1000, 131072, 1 << 20};
    for (size_t i = 0; i < sizeof n_list / sizeof n_list[0]; i++) {
        size_t n = n_list[i];
        unsigned char *p = realloc(NULL, n);
        CHECK(p != NULL, "realloc(NULL, %zu) returned NULL", n);
        CHECK(is_aligned(p, MAX_ALIGN), "realloc(NULL, %zu) = %p not aligned", n, (void *)p);
        CHECK(malloc_usable_size(p) >= n, "realloc(NULL, %zu) usable %zu", n,
              malloc_usable_size(p));
        memset(p, 0x5A, n);
        free(p);
    }
    ok("realloc(NULL, n) behaves as malloc(n), including n = 0");
}

/* glibc frees the block and returns NULL. The freeing itself is only
 * visible through lwm_get_stats, so it is checked when that exists. */
static void realloc_to_zero_frees(void)
{
    lwm_get_stats_fn get_stats = find_lwm_get_stats();
    const size_t n_list[] = {24, 4000, 300000};
    for (size_t i = 0; i < sizeof n_list / sizeof n_list[0]; i++) {
        struct lwm_stats before = {0}, after = {0};
        void *p = malloc(n_list[i]);
        CHECK(p != NULL, "malloc(%zu) returned NULL", n_list[i]);
        memset(p, 1, n_list[i]);
        if (get_stats)
            get_stats(&before, sizeof before);
        void *q = realloc(p, 0);
        if (get_stats)
            get_stats(&after, sizeof after);
        CHECK(q == NULL, "realloc(p of %zu, 0) = %p, expected NULL (glibc frees p)", n_list[i],
              q);
        if (get_stats)
            CHECK(after.live_bytes + n_list[i] <= before.live_bytes,
                  "realloc(p of %zu, 0): live_bytes %llu -> %llu, block not freed", n_list[i],
                  (unsigned long long)before.live_bytes, (unsigned long long)after.live_bytes);
    }
    ok("realloc(p, 0) frees p and returns NULL%s",
       get_stats ? " (live_bytes falls by the block)" : "");
}

static void realloc_keeps_contents(void)
{
    unsigned seed = 1;
    for (size_t a = 0; a < N_SIZES; a++) {
        for (size_t b = 0; b < N_SIZES; b++, seed++) {
            size_t from = sizes[a], to = sizes[b];
            unsigned char *p = malloc(from);
            CHECK(p != NULL, "malloc(%zu) returned NULL", from);
            fill_pattern(p, from, seed);
            unsigned char *q = realloc(p, to);
            CHECK(q != NULL, "realloc %zu -> %zu returned NULL", from, to);
            CHECK(is_aligned(q, MAX_ALIGN), "realloc %zu -> %zu = %p not aligned", from, to,
                  (void *)q);
            CHECK(malloc_usable_size(q) >= to, "realloc %zu -> %zu: usable %zu", from, to,
                  malloc_usable_size(q));
            check_pattern(q, from < to ? from : to, seed, "realloc", from, to);
            /* The grown part must be writable too. */
            memset(q, 0x33, to);
            free(q);
        }
    }
    ok("realloc keeps min(old, new) bytes for all %zu x %zu size pairs 1 B..8 MiB", N_SIZES,
       N_SIZES);
}

/* One block walked up through all sizes and back down, refilled each step,
 * with a neighbour block live the whole time to catch overruns. */
static void realloc_walk_up_and_down(void)
{
    unsigned char *neighbour = malloc(64);
    CHECK(neighbour != NULL, "malloc(64) returned NULL");
    fill_pattern(neighbour, 64, 999);
    unsigned char *p = NULL;
    size_t old = 0;
    for (size_t step = 0; step < 2 * N_SIZES; step++) {
        size_t n = step < N_SIZES ? sizes[step] : sizes[2 * N_SIZES - 1 - step];
        p = realloc(p, n);
        CHECK(p != NULL, "realloc to %zu returned NULL", n);
        check_pattern(p, old < n ? old : n, (unsigned)step, "walk", old, n);
        fill_pattern(p, n, (unsigned)step + 1);
        old = n;
    }
    free(p);
    CHECK(first_pattern_mismatch(neighbour, 64, 999) == 64, "neighbour block was overwritten");
    free(neighbour);
    ok("one block reallocated up 1 B..8 MiB and back down keeps contents at each step");
}

static void realloc_shrink_then_grow(void)
{
    const size_t big[] = {1000, 100000, 300000, 4 << 20};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        unsigned char *p = malloc(big[i]);
        CHECK(p != NULL, "malloc(%zu) returned NULL", big[i]);
        fill_pattern(p, big[i], 7);
        p = realloc(p, 100);
        CHECK(p != NULL, "realloc %zu -> 100 returned NULL", big[i]);
        check_pattern(p, 100, 7, "shrink", big[i], 100);
        p = realloc(p, big[i]);
        CHECK(p != NULL, "realloc 100 -> %zu returned NULL", big[i]);
        check_pattern(p, 100, 7, "grow back", 100, big[i]);
        memset(p, 0, big[i]);
        free(p);
    }
    ok("realloc shrink to 100 B then grow back keeps the first 100 bytes");

    /* Shrinking a byte at a time must keep everything below the new end. */
    unsigned char *p = malloc(600);
    CHECK(p != NULL, "malloc(600) returned NULL");
    fill_pattern(p, 600, 11);
    for (size_t n = 599; n >= 1; n--) {
        p = realloc(p, n);
        CHECK(p != NULL, "realloc to %zu returned NULL", n);
        check_pattern(p, n, 11, "shrink by one", n + 1, n);
    }
    free(p);
    ok("realloc shrinking one byte at a time 600 -> 1 keeps contents");
}

static void realloc_failure_keeps_block(void)
{
    const size_t block_sizes[] = {24, 4000, 300000};
    const size_t impossible[] = {SIZE_MAX, SIZE_MAX - MAX_ALIGN, SIZE_MAX / 2 + 1, PTRDIFF_MAX};
    for (size_t i = 0; i < 3; i++) {
        size_t n = block_sizes[i];
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) returned NULL", n);
        fill_pattern(p, n, 21);
        for (size_t k = 0; k < sizeof impossible / sizeof impossible[0]; k++) {
            errno = 0;
            void *q = realloc(p, opaque_size(impossible[k]));
            int saved = errno;
            CHECK(q == NULL, "realloc(p of %zu, %zu) = %p, expected NULL", n, impossible[k], q);
            CHECK(saved == ENOMEM, "realloc(p of %zu, %zu) set errno %d (%s), expected ENOMEM", n,
                  impossible[k], saved, strerror(saved));
            check_pattern(p, n, 21, "failed realloc", n, impossible[k]);
        }
        p = realloc(p, n * 2);
        CHECK(p != NULL, "realloc %zu -> %zu after failures returned NULL", n, n * 2);
        check_pattern(p, n, 21, "realloc after failures", n, n * 2);
        free(p);
    }
    ok("realloc(p, SIZE_MAX / PTRDIFF_MAX+1): NULL, ENOMEM, p unchanged and still usable");
}

static void reallocarray_semantics(void)
{
    unsigned char *p = reallocarray(NULL, 10, 10);
    CHECK(p != NULL && malloc_usable_size(p) >= 100, "reallocarray(NULL, 10, 10) = %p",
          (void *)p);
    fill_pattern(p, 100, 31);
    p = reallocarray(p, 1000, 300);
    CHECK(p != NULL, "reallocarray(p, 1000, 300) returned NULL");
    check_pattern(p, 100, 31, "reallocarray", 100, 300000);
    ok("reallocarray(NULL, ..) allocates and growing keeps contents");

    const size_t shapes[][2] = {
        {SIZE_MAX / 2 + 1, 2},
        {2, SIZE_MAX / 2 + 1},
        {SIZE_MAX, SIZE_MAX},
        {(size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        errno = 0;
        void *q = reallocarray(p, opaque_size(shapes[i][0]), opaque_size(shapes[i][1]));
        int saved = errno;
        CHECK(q == NULL, "reallocarray(p, %zu, %zu) = %p, expected NULL", shapes[i][0],
              shapes[i][1], q);
        CHECK(saved == ENOMEM, "reallocarray(p, %zu, %zu) errno %d (%s), expected ENOMEM",
              shapes[i][0], shapes[i][1], saved, strerror(saved));
        check_pattern(p, 100, 31, "failed reallocarray", 300000, shapes[i][0]);
    }
    errno = 0;
    void *q = reallocarray(NULL, opaque_size(SIZE_MAX / 2 + 1), 2);
    CHECK(q == NULL && errno == ENOMEM, "reallocarray(NULL, overflow) = %p errno %d", q, errno);
    ok("reallocarray overflow: NULL, ENOMEM, block unchanged");

    q = reallocarray(p, 0, 10);
    CHECK(q == NULL, "reallocarray(p, 0, 10) = %p, expected NULL (glibc: realloc(p, 0))", q);
    ok("reallocarray(p, 0, n) frees p and returns NULL like realloc(p, 0)");
}

int main(int argc, char **argv)
{
    static const struct test_group groups[] = {
        {"realloc_null_is_malloc", realloc_null_is_malloc},
        {"realloc_to_zero_frees", realloc_to_zero_frees},
        {"realloc_keeps_contents", realloc_keeps_contents},
        {"realloc_walk_up_and_down", realloc_walk_up_and_down},
        {"realloc_shrink_then_grow", realloc_shrink_then_grow},
        {"realloc_failure_keeps_block", realloc_failure_keeps_block},
        {"reallocarray_semantics", reallocarray_semantics},
    };
    return run_test_groups("realloc", argc, argv, groups, sizeof groups / sizeof groups[0]);
}

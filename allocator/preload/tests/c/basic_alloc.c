/* malloc, free, calloc and malloc_usable_size with glibc 2.36 semantics. */
#include "harness.h"

#include <malloc.h>

/* Sizes around the usual size-class edges, the page size, the 128 KiB mmap
 * threshold and into multi-MiB blocks. */
static const size_t interesting_sizes[] = {
    1025,  2047,   2048,   4095,   4096,   4097,   5000,    8191,    8192,     16384,   65535,
    65536, 131071, 131072, 131073, 135168, 200000, 262144, 1 << 20, 3 << 20, 16 << 20,
};
#define N_INTERESTING (sizeof interesting_sizes / sizeof interesting_sizes[0])

static void malloc_alignment(void)
{
    for (size_t n = 0; n <= 4096; n++) {
        void *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) returned NULL", n);
        CHECK(is_aligned(p, MAX_ALIGN), "malloc(%zu) = %p not aligned to %zu", n, p, MAX_ALIGN);
        free(p);
    }
    ok("malloc(0..4096) each aligned to %zu", MAX_ALIGN);

    for (size_t i = 0; i < N_INTERESTING; i++) {
        size_t n = interesting_sizes[i];
        void *p[8];
        for (int k = 0; k < 8; k++) {
            p[k] = malloc(n);
            CHECK(p[k] != NULL, "malloc(%zu) returned NULL", n);
            CHECK(is_aligned(p[k], MAX_ALIGN), "malloc(%zu) = %p not aligned", n, p[k]);
            memset(p[k], k, n);
        }
        for (int k = 0; k < 8; k++) {
            size_t bad = first_byte_not(p[k], n, (unsigned char)k);
            CHECK(bad == n, "malloc(%zu) block %d byte %zu changed while others were live", n, k,
                  bad);
            free(p[k]);
        }
    }
    ok("8 live blocks of each size 1025..16 MiB aligned and independent");
}

static void malloc_zero(void)
{
    enum { COUNT = 200 };
    void *p[COUNT];
    for (int i = 0; i < COUNT; i++) {
        p[i] = malloc(opaque_size(0));
        CHECK(p[i] != NULL, "malloc(0) #%d returned NULL", i);
        CHECK(is_aligned(p[i], MAX_ALIGN), "malloc(0) = %p not aligned", p[i]);
        for (int j = 0; j < i; j++)
            CHECK(p[i] != p[j], "malloc(0) #%d and #%d both returned %p", i, j, p[i]);
    }
    ok("%d live malloc(0) blocks are non-NULL, aligned and distinct", COUNT);
    for (int i = 0; i < COUNT; i++)
        free(p[i]);
    ok("malloc(0) blocks are freeable");
}

static void malloc_failure(void)
{
    const size_t huge[] = {
        SIZE_MAX,
        SIZE_MAX - 1,
        SIZE_MAX - MAX_ALIGN,
        SIZE_MAX - page_size(),
        SIZE_MAX / 2 + 1, /* PTRDIFF_MAX + 1 */
        PTRDIFF_MAX,
        (size_t)PTRDIFF_MAX - page_size(),
    };
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        errno = 0;
        void *p = malloc(opaque_size(huge[i]));
        int saved = errno;
        CHECK(p == NULL, "malloc(%zu) = %p, expected NULL", huge[i], p);
        CHECK(saved == ENOMEM, "malloc(%zu) set errno %d (%s), expected ENOMEM", huge[i], saved,
              strerror(saved));
    }
    ok("malloc of SIZE_MAX, PTRDIFF_MAX+1 and other impossible sizes: NULL, errno ENOMEM");
    void *p = malloc(100);
    CHECK(p != NULL, "malloc(100) after failures returned NULL");
    free(p);
    ok("malloc works after failed requests");
}

static void free_null_and_errno(void)
{
    errno = EDOM;
    free(NULL);
    CHECK(errno == EDOM, "free(NULL) changed errno to %d", errno);
    ok("free(NULL) is a no-op that keeps errno");

    const size_t sizes[] = {24, 4000, 300000};
    for (size_t i = 0; i < 3; i++) {
        void *p = malloc(sizes[i]);
        CHECK(p != NULL, "malloc(%zu) returned NULL", sizes[i]);
        errno = EDOM;
        free(p);
        CHECK(errno == EDOM, "free of a %zu-byte block changed errno to %d", sizes[i], errno);
    }
    ok("free keeps errno (glibc >= 2.33) for small, medium and mmapped blocks");
}

static void check_zeroed(const void *p, size_t n, const char *what)
{
    size_t bad = first_byte_not(p, n, 0);
    CHECK(bad == n, "%s: byte %zu of %zu is 0x%02x, not zero", what, bad, n,
          bad < n ? ((const unsigned char *)p)[bad] : 0);
}

static void calloc_zeroed(void)
{
    const size_t shapes[][2] = {
        {1, 1},     {3, 5},     {1, 100},   {100, 1},      {7, 1000},  {1, 4096}, {4096, 1},
        {10, 8192}, {1, 65536}, {3, 43691}, {1, 131072},   {2, 65537}, {1, 200000},
        {1000, 1000}, {1, 4 << 20}, {8, 1 << 20},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        size_t nmemb = shapes[i][0], size = shapes[i][1];
        unsigned char *p = calloc(nmemb, size);
        CHECK(p != NULL, "calloc(%zu, %zu) returned NULL", nmemb, size);
        CHECK(is_aligned(p, MAX_ALIGN), "calloc(%zu, %zu) = %p not aligned", nmemb, size,
              (void *)p);
        check_zeroed(p, nmemb * size, "fresh calloc");
        free(p);
    }
    ok("calloc returns zeroed, aligned memory for sizes 1 B..8 MiB");

    const size_t zero_shapes[][2] = {{0, 0}, {0, 16}, {16, 0}, {0, SIZE_MAX}, {SIZE_MAX, 0}};
    for (size_t i = 0; i < sizeof zero_shapes / sizeof zero_shapes[0]; i++) {
        void *p = calloc(opaque_size(zero_shapes[i][0]), opaque_size(zero_shapes[i][1]));
        CHECK(p != NULL, "calloc(%zu, %zu) returned NULL", zero_shapes[i][0], zero_shapes[i][1]);
        CHECK(is_aligned(p, MAX_ALIGN), "calloc of zero bytes = %p not aligned", p);
        free(p);
    }
    ok("calloc of zero bytes (incl. 0 x SIZE_MAX) gives a freeable non-NULL pointer");
}

/* Freed blocks are dirty; calloc reusing them must clear them. */
static void calloc_after_dirty_free(void)
{
    const size_t sizes[] = {8, 24, 100, 1000, 4000, 40000, 131072, 300000};
    enum { COUNT = 40 };
    void *p[COUNT];
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < COUNT; i++) {
                p[i] = malloc(n);
                CHECK(p[i] != NULL, "malloc(%zu) returned NULL", n);
                memset(p[i], 0xAA, malloc_usable_size(p[i]));
            }
            /* Free in both orders so both LIFO and FIFO reuse are covered. */
            for (int i = 0; i < COUNT; i++)
                free(p[round == 0 ? i : COUNT - 1 - i]);
            for (int i = 0; i < COUNT; i++) {
                /* Half as nmemb x size, to cover the multiplication path. */
                p[i] = (i & 1) ? calloc(n, 1) : calloc(1, n);
                CHECK(p[i] != NULL, "calloc(%zu) returned NULL", n);
                check_zeroed(p[i], n, "calloc reusing memory filled with 0xAA");
            }
            for (int i = 0; i < COUNT; i++)
                free(p[i]);
        }
    }
    ok("calloc zeroes memory reused from freed 0xAA-filled blocks (8 B..300 KiB)");
}

static void calloc_overflow(void)
{
    const size_t shapes[][2] = {
        {SIZE_MAX / 2 + 1, 2}, /* product wraps to exactly 0 */
        {2, SIZE_MAX / 2 + 1},
        {SIZE_MAX, SIZE_MAX},
        {SIZE_MAX / 3 + 1, 3},
        {(size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)}, /* wraps to 0 */
        {((size_t)1 << (sizeof(size_t) * 4)) + 1, ((size_t)1 << (sizeof(size_t) * 4)) + 1},
        {1, SIZE_MAX},           /* no overflow, just impossible */
        {SIZE_MAX / 2 + 1, 1},
        {16, SIZE_MAX / 16 + 1}, /* product wraps to 0 */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        errno = 0;
        void *p = calloc(opaque_size(shapes[i][0]), opaque_size(shapes[i][1]));
        int saved = errno;
        CHECK(p == NULL, "calloc(%zu, %zu) = %p, expected NULL", shapes[i][0], shapes[i][1], p);
        CHECK(saved == ENOMEM, "calloc(%zu, %zu) set errno %d (%s), expected ENOMEM",
              shapes[i][0], shapes[i][1], saved, strerror(saved));
    }
    ok("calloc with nmemb*size overflowing or impossible: NULL, errno ENOMEM");
}

static void usable_size(void)
{
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu",
          malloc_usable_size(NULL));
    ok("malloc_usable_size(NULL) == 0");

    /* Fill the whole usable size of many blocks that are live at once, then
     * check none was overwritten: usable bytes really belong to the block. */
    enum { BATCH = 64 };
    void *p[BATCH];
    size_t usable[BATCH];
    size_t n = 0;
    while (n <= 1100) {
        for (int i = 0; i < BATCH; i++, n++) {
            p[i] = malloc(n);
            CHECK(p[i] != NULL, "malloc(%zu) returned NULL", n);
            usable[i] = malloc_usable_size(p[i]);
            CHECK(usable[i] >= n, "malloc_usable_size(malloc(%zu)) = %zu", n, usable[i]);
            fill_pattern(p[i], usable[i], (unsigned)n);
        }
        for (int i = BATCH - 1; i >= 0; i--) {
            size_t bad = first_pattern_mismatch(p[i], usable[i], (unsigned)(n - BATCH + i));
            CHECK(bad == usable[i], "block of %zu (usable %zu) corrupted at byte %zu",
                  n - BATCH + i, usable[i], bad);
            free(p[i]);
        }
    }
    ok("malloc_usable_size(malloc(n)) >= n and all of it writable, n = 0..%zu", n - 1);

    for (size_t i = 0; i < N_INTERESTING; i++) {
        size_t size = interesting_sizes[i];
        for (int k = 0; k < 4; k++) {
            p[k] = malloc(size);
            CHECK(p[k] != NULL, "malloc(%zu) returned NULL", size);
            usable[k] = malloc_usable_size(p[k]);
            CHECK(usable[k] >= size, "malloc_usable_size(malloc(%zu)) = %zu", size, usable[k]);
            fill_pattern(p[k], usable[k], (unsigned)(size + k));
        }
        for (int k = 0; k < 4; k++) {
            size_t bad = first_pattern_mismatch(p[k], usable[k], (unsigned)(size + k));
            CHECK(bad == usable[k], "block of %zu (usable %zu) corrupted at byte %zu", size,
                  usable[k], bad);
            free(p[k]);
        }
    }
    ok("usable size >= request and writable for sizes 1025 B..16 MiB");

    void *c = calloc(10, 10);
    CHECK(c != NULL && malloc_usable_size(c) >= 100, "calloc(10,10) usable %zu",
          c ? malloc_usable_size(c) : 0);
    free(c);
    ok("malloc_usable_size of a calloc block >= its size");
}

int main(int argc, char **argv)
{
    static const struct test_group groups[] = {
        {"malloc_alignment", malloc_alignment},
        {"malloc_zero", malloc_zero},
        {"malloc_failure", malloc_failure},
        {"free_null_and_errno", free_null_and_errno},
        {"calloc_zeroed", calloc_zeroed},
        {"calloc_after_dirty_free", calloc_after_dirty_free},
        {"calloc_overflow", calloc_overflow},
        {"usable_size", usable_size},
    };
    return run_test_groups("basic_alloc", argc, argv, groups, sizeof groups / sizeof groups[0]);
}

/* posix_memalign, memalign, aligned_alloc, valloc and pvalloc with glibc
 * 2.36 semantics (there aligned_alloc is memalign under another name). */
#include "harness.h"

#include <malloc.h>

struct live_block {
    unsigned char *p;
    size_t size;
};

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct live_block *)a)->p;
    uintptr_t y = (uintptr_t)((const struct live_block *)b)->p;
    return (x > y) - (x < y);
}

/* Blocks that are live at the same time must not share a byte: checked
 * both on the address ranges and on the contents (each block is filled
 * with its own byte value before any is checked). */
static void check_disjoint_and_intact(struct live_block *blocks, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++) {
        size_t bad = first_byte_not(blocks[i].p, blocks[i].size, (unsigned char)(i * 7 + 1));
        CHECK(bad == blocks[i].size, "%s: block %zu (%zu bytes at %p) overwritten at byte %zu",
              what, i, blocks[i].size, (void *)blocks[i].p, bad);
    }
    qsort(blocks, count, sizeof *blocks, by_address);
    for (size_t i = 1; i < count; i++) {
        const struct live_block *a = &blocks[i - 1], *b = &blocks[i];
        CHECK(a->p + (a->size ? a->size : 1) <= b->p, "%s: [%p, +%zu) overlaps [%p, +%zu)", what,
              (void *)a->p, a->size, (void *)b->p, b->size);
    }
}

static void posix_memalign_invalid(void)
{
    /* Not a power of two, or smaller than sizeof(void *): EINVAL. */
    const size_t bad_alignments[] = {
        0, 1, 2, sizeof(void *) / 2, 3, 6, 12, 24, 48, 96, sizeof(void *) * 3, 4097, 65535,
        SIZE_MAX, SIZE_MAX / 2, (SIZE_MAX / 2 + 1) | 8,
    };
    for (size_t i = 0; i < sizeof bad_alignments / sizeof bad_alignments[0]; i++) {
        void *untouched = (void *)(uintptr_t)0x5eed;
        void *p = untouched;
        int rc = posix_memalign(&p, opaque_size(bad_alignments[i]), 64);
        CHECK(rc == EINVAL, "posix_memalign(alignment %zu) returned %d, expected EINVAL (%d)",
              bad_alignments[i], rc, EINVAL);
        CHECK(p == untouched, "posix_memalign(alignment %zu) wrote %p to *memptr on EINVAL",
              bad_alignments[i], p);
    }
    ok("posix_memalign: EINVAL and *memptr untouched for 0, non powers of two and < "
       "sizeof(void *)");
}

static void posix_memalign_huge(void)
{
    const size_t huge_sizes[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2 + 1, PTRDIFF_MAX};
    for (size_t i = 0; i < sizeof huge_sizes / sizeof huge_sizes[0]; i++) {
        void *p = NULL;
        errno = 0;
        int rc = posix_memalign(&p, 64, opaque_size(huge_sizes[i]));
        int saved = errno;
        CHECK(rc == ENOMEM, "posix_memalign(64, %zu) returned %d, expected ENOMEM (%d)",
              huge_sizes[i], rc, ENOMEM);
        /* glibc sets errno too, and its tst-malloc-thread-fail relies on it. */
        CHECK(saved == ENOMEM, "posix_memalign(64, %zu) left errno %d, expected ENOMEM as glibc",
              huge_sizes[i], saved);
    }
    /* A valid but unsatisfiable alignment of 2^63 (2^31 on 32-bit). */
    void *p = NULL;
    int rc = posix_memalign(&p, opaque_size(SIZE_MAX / 2 + 1), 1);
    CHECK(rc == ENOMEM, "posix_memalign(SIZE_MAX/2+1, 1) returned %d, expected ENOMEM", rc);
    ok("posix_memalign: ENOMEM (returned and in errno) for impossible sizes and for alignment "
       "SIZE_MAX/2+1");
}

static void posix_memalign_valid(void)
{
    const size_t sizes[] = {0, 1, 8, 100, 4096, 100000, 300000};
    enum { N = sizeof sizes / sizeof sizes[0] };
    struct live_block blocks[N];
    for (size_t alignment = sizeof(void *); alignment <= (1 << 20); alignment *= 2) {
        for (size_t i = 0; i < N; i++) {
            void *p = NULL;
            int rc = posix_memalign(&p, alignment, sizes[i]);
            CHECK(rc == 0, "posix_memalign(%zu, %zu) returned %d", alignment, sizes[i], rc);
            CHECK(p != NULL, "posix_memalign(%zu, %zu) gave NULL", alignment, sizes[i]);
            CHECK(is_aligned(p, alignment), "posix_memalign(%zu, %zu) = %p misaligned", alignment,
                  sizes[i], p);
            CHECK(malloc_usable_size(p) >= sizes[i], "posix_memalign(%zu, %zu): usable %zu",
                  alignment, sizes[i], malloc_usable_size(p));
            blocks[i] = (struct live_block){p, sizes[i]};
            memset(p, (int)(i * 7 + 1), sizes[i]);
        }
        check_disjoint_and_intact(blocks, N, "posix_memalign");
        for (size_t i = 0; i < N; i++)
            free(blocks[i].p);
    }
    ok("posix_memalign: 0 and aligned, writable, disjoint blocks for alignments %zu..1 MiB",
       sizeof(void *));
}

typedef void *(*aligned_allocator)(size_t alignment, size_t size);

/* Every power-of-two alignment 1..64 KiB with sizes 0..200000, all blocks of
 * one alignment live together. */
static void aligned_matrix(aligned_allocator allocate, const char *name)
{
    enum { MAX_BLOCKS = 64 };
    static const size_t fixed_sizes[] = {0,    1,    7,    16,    33,    100,    1000,  4095,
                                         4096, 5000, 65536, 131072, 135000, 200000};
    struct live_block blocks[MAX_BLOCKS];
    for (size_t alignment = 1; alignment <= 65536; alignment *= 2) {
        size_t count = 0;
        for (size_t i = 0; i < sizeof fixed_sizes / sizeof fixed_sizes[0]; i++)
            blocks[count++].size = fixed_sizes[i];
        for (size_t size = 3; size <= 200000 && count < MAX_BLOCKS; size += 4999)
            blocks[count++].size = size;
        for (size_t i = 0; i < count; i++) {
            size_t size = blocks[i].size;
            unsigned char *p = allocate(alignment, size);
            CHECK(p != NULL, "%s(%zu, %zu) returned NULL", name, alignment, size);
            CHECK(is_aligned(p, alignment), "%s(%zu, %zu) = %p misaligned", name, alignment, size,
                  (void *)p);
            CHECK(is_aligned(p, alignment < MAX_ALIGN ? alignment : MAX_ALIGN),
                  "%s(%zu, %zu) = %p", name, alignment, size, (void *)p);
            CHECK(malloc_usable_size(p) >= size, "%s(%zu, %zu): usable %zu", name, alignment,
                  size, malloc_usable_size(p));
            blocks[i].p = p;
            memset(p, (int)(i * 7 + 1), size);
        }
        check_disjoint_and_intact(blocks, count, name);
        for (size_t i = 0; i < count; i++)
            free(blocks[i].p);
    }
}

static void *call_memalign(size_t alignment, size_t size)
{
    return memalign(alignment, size);
}

static void *call_aligned_alloc(size_t alignment, size_t size)
{
    return aligned_alloc(alignment, size);
}

static void memalign_valid(void)
{
    aligned_matrix(call_memalign, "memalign");
    ok("memalign: aligned, writable, disjoint, freeable for alignments 1..64 KiB, sizes "
       "0..200000");
}

static void aligned_alloc_valid(void)
{
    aligned_matrix(call_aligned_alloc, "aligned_alloc");
    ok("aligned_alloc: aligned, writable, disjoint, freeable for alignments 1..64 KiB, sizes "
       "0..200000");
}

static void memalign_invalid(void)
{
    const size_t too_big[] = {SIZE_MAX / 2 + 2, SIZE_MAX / 2 + 4096, SIZE_MAX};
    for (size_t i = 0; i < sizeof too_big / sizeof too_big[0]; i++) {
        errno = 0;
        void *p = memalign(opaque_size(too_big[i]), 16);
        int saved = errno;
        CHECK(p == NULL, "memalign(%zu, 16) = %p, expected NULL", too_big[i], p);
        CHECK(saved == EINVAL, "memalign(%zu, 16) errno %d (%s), expected EINVAL", too_big[i],
              saved, strerror(saved));
        errno = 0;
        p = aligned_alloc(opaque_size(too_big[i]), 16);
        saved = errno;
        CHECK(p == NULL && saved == EINVAL,
              "aligned_alloc(%zu, 16) = %p errno %d, expected NULL, EINVAL (glibc 2.36)",
              too_big[i], p, saved);
    }
    ok("memalign/aligned_alloc with alignment > SIZE_MAX/2+1: NULL, errno EINVAL");

    const size_t huge_sizes[] = {SIZE_MAX, SIZE_MAX - 65536, SIZE_MAX / 2 + 1, PTRDIFF_MAX};
    for (size_t i = 0; i < sizeof huge_sizes / sizeof huge_sizes[0]; i++) {
        errno = 0;
        void *p = memalign(64, opaque_size(huge_sizes[i]));
        int saved = errno;
        CHECK(p == NULL && saved == ENOMEM, "memalign(64, %zu) = %p errno %d, expected ENOMEM",
              huge_sizes[i], p, saved);
        errno = 0;
        p = memalign(4096, opaque_size(huge_sizes[i]));
        saved = errno;
        CHECK(p == NULL && saved == ENOMEM, "memalign(4096, %zu) = %p errno %d, expected ENOMEM",
              huge_sizes[i], p, saved);
    }
    ok("memalign of impossible sizes: NULL, errno ENOMEM");
}

static void valloc_pvalloc(void)
{
    const size_t page = page_size();
    const size_t sizes[] = {0, 1, page - 1, page, page + 1, 100000, 300000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = valloc(sizes[i]);
        CHECK(p != NULL, "valloc(%zu) returned NULL", sizes[i]);
        CHECK(is_aligned(p, page), "valloc(%zu) = %p not page aligned", sizes[i], (void *)p);
        CHECK(malloc_usable_size(p) >= sizes[i], "valloc(%zu): usable %zu", sizes[i],
              malloc_usable_size(p));
        memset(p, 0x77, sizes[i]);
        free(p);
    }
    ok("valloc: page-aligned (%zu) writable blocks", page);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* pvalloc rounds the size up to whole pages, and lwmalloc gives one
         * page for pvalloc(0). glibc 2.36 does not: its rounding mask is
         * -(pagesize - 1), which turns 0 into 1, so there pvalloc(0) only
         * needs to be page aligned. */
        size_t rounded = (sizes[i] + page - 1) / page * page;
        if (sizes[i] == 0 && expecting_lwmalloc())
            rounded = page;
        unsigned char *p = pvalloc(sizes[i]);
        CHECK(p != NULL, "pvalloc(%zu) returned NULL", sizes[i]);
        CHECK(is_aligned(p, page), "pvalloc(%zu) = %p not page aligned", sizes[i], (void *)p);
        CHECK(malloc_usable_size(p) >= rounded, "pvalloc(%zu): usable %zu < %zu (page multiple)",
              sizes[i], malloc_usable_size(p), rounded);
        memset(p, 0x66, rounded);
        free(p);
    }
    ok("pvalloc: page-aligned, usable size covers the size rounded up to pages%s",
       expecting_lwmalloc() ? " (0 -> 1 page)" : "");

    errno = 0;
    void *p = valloc(opaque_size(SIZE_MAX));
    CHECK(p == NULL && errno == ENOMEM, "valloc(SIZE_MAX) = %p errno %d", p, errno);
    errno = 0;
    p = pvalloc(opaque_size(SIZE_MAX - 10));
    CHECK(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - 10) = %p errno %d", p, errno);
    ok("valloc/pvalloc of impossible sizes: NULL, errno ENOMEM");
}

static void realloc_of_aligned_blocks(void)
{
    const size_t alignments[] = {64, 4096, 65536};
    const size_t targets[] = {10, 5000, 200000, 2 << 20, 100};
    for (size_t a = 0; a < sizeof alignments / sizeof alignments[0]; a++) {
        for (int kind = 0; kind < 3; kind++) {
            const size_t start = 3000;
            unsigned char *p = NULL;
            if (kind == 0)
                p = memalign(alignments[a], start);
            else if (kind == 1)
                p = aligned_alloc(alignments[a], start);
            else
                CHECK(posix_memalign((void **)&p, alignments[a], start) == 0,
                      "posix_memalign(%zu, %zu) failed", alignments[a], start);
            CHECK(p != NULL, "aligned allocation kind %d of %zu returned NULL", kind,
                  alignments[a]);
            fill_pattern(p, start, 40);
            size_t kept = start;
            for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
                p = realloc(p, targets[t]);
                CHECK(p != NULL, "realloc of aligned block to %zu returned NULL", targets[t]);
                if (targets[t] < kept)
                    kept = targets[t];
                size_t bad = first_pattern_mismatch(p, kept, 40);
                CHECK(bad == kept,
                      "realloc of a %zu-aligned block (kind %d) to %zu: byte %zu of %zu changed",
                      alignments[a], kind, targets[t], bad, kept);
            }
            free(p);
        }
    }
    unsigned char *v = valloc(5000);
    CHECK(v != NULL, "valloc(5000) returned NULL");
    fill_pattern(v, 5000, 41);
    v = realloc(v, 400000);
    CHECK(v != NULL && first_pattern_mismatch(v, 5000, 41) == 5000,
          "realloc of valloc block lost contents");
    free(v);
    ok("realloc of memalign/aligned_alloc/posix_memalign/valloc blocks keeps contents");
}

int main(int argc, char **argv)
{
    static const struct test_group groups[] = {
        {"posix_memalign_invalid", posix_memalign_invalid},
        {"posix_memalign_huge", posix_memalign_huge},
        {"posix_memalign_valid", posix_memalign_valid},
        {"memalign_valid", memalign_valid},
        {"aligned_alloc_valid", aligned_alloc_valid},
        {"memalign_invalid", memalign_invalid},
        {"valloc_pvalloc", valloc_pvalloc},
        {"realloc_of_aligned_blocks", realloc_of_aligned_blocks},
    };
    return run_test_groups("aligned", argc, argv, groups, sizeof groups / sizeof groups[0]);
}

/* Freed memory goes back to the OS: allocate ~64 MiB in blocks of
 * argv[1] bytes, touch all of it, free everything, and compare the resident
 * set size (from /proc/self/statm) with its peak. */
#include "harness.h"

#include <fcntl.h>
#include <sys/mman.h>

#define TOTAL_BYTES ((size_t)64 << 20)

static size_t resident_bytes(void)
{
    /* statm: size resident shared text lib data dt, in pages. Read with
     * plain syscalls so stdio buffers do not count. */
    char text[256];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0, "cannot open /proc/self/statm: %s", strerror(errno));
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    CHECK(n > 0, "cannot read /proc/self/statm");
    text[n] = '\0';
    unsigned long size_pages = 0, resident_pages = 0;
    CHECK(sscanf(text, "%lu %lu", &size_pages, &resident_pages) == 2, "bad statm: %s", text);
    return resident_pages * page_size();
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rss_return BLOCK_SIZE\n");
        return 2;
    }
    require_lwmalloc_if_expected();
    size_t block = strtoul(argv[1], NULL, 10);
    CHECK(block >= 16 && block <= TOTAL_BYTES, "block size %zu out of range", block);
    size_t count = TOTAL_BYTES / block;

    /* The pointer table comes from mmap so it is not part of the heap being
     * measured. */
    unsigned char **blocks = mmap(NULL, count * sizeof *blocks, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(blocks != MAP_FAILED, "mmap of the pointer table failed: %s", strerror(errno));

    /* Print before measuring: stdout's buffer is allocated on first use, and
     * allocated after the blocks it would pin the top of the heap. Nothing
     * else may allocate between the first and the last reading. */
    printf("# rss_return: %zu blocks of %zu bytes\n", count, block);
    fflush(stdout);
    size_t before = resident_bytes();
    for (size_t i = 0; i < count; i++) {
        blocks[i] = malloc(block);
        CHECK(blocks[i] != NULL, "malloc(%zu) #%zu returned NULL", block, i);
        memset(blocks[i], (int)(i & 0xFF) | 1, block); /* make every page resident */
    }
    size_t peak = resident_bytes();
    CHECK(peak >= before + TOTAL_BYTES / 4 * 3,
          "RSS rose only from %zu to %zu bytes while %zu bytes were allocated and touched", before,
          peak, TOTAL_BYTES);

    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
    size_t after = resident_bytes();
    ok("allocated %zu x %zu bytes: RSS %zu -> %zu bytes", count, block, before, peak);
    CHECK(after < peak / 2, "RSS after freeing everything is %zu bytes, not below 50%% of the "
                            "peak %zu (was %zu before allocating)",
          after, peak, before);
    ok("freed all: RSS %zu -> %zu bytes (%.1f%% of peak)", peak, after, 100.0 * after / peak);
    munmap(blocks, count * sizeof *blocks);
    all_checks_passed("rss_return");
    return 0;
}

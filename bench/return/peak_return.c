/* How much of a freed peak goes back to the OS: allocate 200 MiB in
 * blocks of argv[1] bytes, touch every byte, free them all, and print the
 * resident set size (from /proc/self/statm) before, at the peak and after,
 * in all and the anonymous part alone (resident less file-backed pages:
 * the code pages of libc that the loops fault in are not the allocator's).
 * The table of pointers is a mapping of its own, not counted in "heap":
 * its size is printed so it can be taken off "after".
 *
 *   cc -O1 -fno-builtin -o peak_return bench/return/peak_return.c
 *   ./peak_return 4096                                  # glibc
 *   LD_PRELOAD=target/release/liblwmalloc.so ./peak_return 4096
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct rss {
    long total_kib; /* resident set */
    long anon_kib;  /* of which not file-backed: heap, mappings, stacks */
};

static struct rss resident(void)
{
    struct rss r = {-1, -1};
    char text[256];
    int fd = open("/proc/self/statm", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, text, sizeof text - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return r;
    text[n] = '\0';
    long size = 0, pages = 0, shared = 0;
    if (sscanf(text, "%ld %ld %ld", &size, &pages, &shared) != 3)
        return r;
    long kib = sysconf(_SC_PAGESIZE) / 1024;
    r.total_kib = pages * kib;
    r.anon_kib = (pages - shared) * kib;
    return r;
}

int main(int argc, char **argv)
{
    size_t block = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    if (block == 0) {
        fprintf(stderr, "usage: peak_return BLOCK_BYTES\n");
        return 2;
    }
    size_t count = ((size_t)200 << 20) / block;
    size_t table = count * sizeof(void *);
    void **blocks = mmap(NULL, table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (blocks == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* stdout's buffer is allocated before the first reading. */
    printf("# %zu blocks of %zu bytes\n", count, block);
    fflush(stdout);
    struct rss before = resident();
    for (size_t i = 0; i < count; i++) {
        blocks[i] = malloc(block);
        if (blocks[i] == NULL) {
            fprintf(stderr, "malloc(%zu) #%zu failed\n", block, i);
            return 1;
        }
        memset(blocks[i], 1, block);
    }
    struct rss peak = resident();
    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
    struct rss after = resident();
    printf("block %zu: before %ld KiB, peak %ld KiB, after %ld KiB (pointer table %zu KiB)\n",
           block, before.total_kib, peak.total_kib, after.total_kib, table / 1024);
    printf("block %zu: anonymous before %ld KiB, peak %ld KiB, after %ld KiB\n", block,
           before.anon_kib, peak.anon_kib, after.anon_kib);
    return 0;
}

/* Fast-path driver with a live working set: 1000 blocks of 16..256 B stay
 * allocated; each iteration frees a pseudo-random slot and puts a new block
 * of a pseudo-random size in 16..256 B there.
 *
 *   mixed ITERATIONS
 *
 * One xorshift64 step per iteration gives both the slot (low half) and the
 * size (high half), each mapped by multiply-shift rather than division, so
 * the driver's own cost is about 30 instructions an iteration. The sequence
 * is fixed (same seed every run), so runs with different iteration counts
 * share their prefix. Built with -fno-builtin so the compiler can neither
 * elide nor merge malloc and free; every block gets a byte written into it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LIVE 1000
#define MIN_SIZE 16
#define MAX_SIZE 256

static char *slot[LIVE];

static inline uint64_t xorshift64(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* Uniform in [0, n) from 32 random bits, without a division. */
static inline uint32_t below(uint32_t r, uint32_t n)
{
    return (uint32_t)(((uint64_t)r * n) >> 32);
}

static inline char *block(uint64_t r)
{
    size_t size = MIN_SIZE + below((uint32_t)(r >> 32), MAX_SIZE - MIN_SIZE + 1);
    char *p = malloc(size);
    if (!p)
        exit(1);
    p[0] = (char)size;
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 0) {
        fprintf(stderr, "%s: bad ITERATIONS\n", argv[0]);
        return 2;
    }
    uint64_t r = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < LIVE; i++) {
        r = xorshift64(r);
        slot[i] = block(r);
    }
    for (long i = 0; i < n; i++) {
        r = xorshift64(r);
        uint32_t k = below((uint32_t)r, LIVE);
        free(slot[k]);
        slot[k] = block(r);
    }
    for (int i = 0; i < LIVE; i++)
        free(slot[i]);
    return 0;
}

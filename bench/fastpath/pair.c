/* Fast-path driver: N times p = malloc(SIZE); touch p; free(p).
 *
 *   pair ITERATIONS [SIZE]      (SIZE defaults to 32)
 *
 * Built with -fno-builtin so the compiler can neither elide nor merge the
 * malloc/free pair; the byte written into the block and the pointer stored
 * in a volatile sink keep the block observably used. */
#include <stdio.h>
#include <stdlib.h>

static void *volatile sink;

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s ITERATIONS [SIZE]\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    size_t size = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 32;
    if (n < 0 || size == 0) {
        fprintf(stderr, "%s: bad ITERATIONS or SIZE\n", argv[0]);
        return 2;
    }
    for (long i = 0; i < n; i++) {
        char *p = malloc(size);
        if (!p)
            return 1;
        p[0] = (char)i;
        sink = p;
        free(p);
    }
    return 0;
}

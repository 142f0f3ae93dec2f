/* Linked statically against liblwmalloc.a (no LD_PRELOAD): the program's
 * own calls and libc's internal ones (strdup, getline, qsort's buffer,
 * fopen) must all land in lwmalloc, whose counters then move. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../include/lwmalloc.h"

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    struct lwm_stats before, after;
    if (lwm_get_stats(&before, sizeof before) != 0 || before.version != LWM_STATS_VERSION) {
        fprintf(stderr, "static_link: lwm_get_stats failed\n");
        return 1;
    }
    enum { N = 5000 };
    char **words = malloc(N * sizeof *words);
    for (int i = 0; i < N; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "w%07d", (i * 7919) % N);
        words[i] = strdup(buf); /* libc allocates internally */
    }
    qsort(words, N, sizeof *words, cmp);
    for (int i = 1; i < N; i++)
        if (strcmp(words[i - 1], words[i]) > 0) {
            fprintf(stderr, "static_link: not sorted\n");
            return 1;
        }
    FILE *f = tmpfile(); /* libc's stdio buffers come from malloc */
    for (int i = 0; i < N; i++) fprintf(f, "%s\n", words[i]);
    rewind(f);
    char *line = NULL;
    size_t cap = 0;
    int lines = 0;
    while (getline(&line, &cap, f) > 0) lines++;
    free(line);
    fclose(f);
    for (int i = 0; i < N; i++) free(words[i]);
    free(words);
    lwm_get_stats(&after, sizeof after);
    uint64_t mallocs = after.malloc_calls - before.malloc_calls;
    uint64_t frees = after.free_calls - before.free_calls;
    printf("lines=%d mallocs=%llu frees=%llu\n", lines, (unsigned long long)mallocs, (unsigned long long)frees);
    if (lines != N || mallocs < N + 1 || frees < N + 1) {
        fprintf(stderr, "static_link: allocations did not reach lwmalloc\n");
        return 1;
    }
    return 0;
}

/* lwmalloc: the C interface of liblwmalloc.so / liblwmalloc.a.
 *
 * The library exports the standard allocation functions with glibc's
 * semantics (malloc, free, calloc, realloc, reallocarray, memalign,
 * posix_memalign, aligned_alloc, valloc, pvalloc, malloc_usable_size);
 * declare those through <stdlib.h> and <malloc.h>. This header adds the
 * introspection interface only. */
#ifndef LWMALLOC_H
#define LWMALLOC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LWM_STATS_VERSION 1

/* Counters of the whole process. Call counts and byte figures are read
 * without stopping other threads, so they are exact only when no other
 * thread allocates at the same time. */
struct lwm_stats {
    uint64_t version;           /* LWM_STATS_VERSION */
    uint64_t malloc_calls;      /* malloc */
    uint64_t free_calls;        /* free, excluding free(NULL) */
    uint64_t realloc_calls;     /* realloc and reallocarray */
    uint64_t calloc_calls;      /* calloc */
    uint64_t aligned_calls;     /* memalign, posix_memalign, aligned_alloc, valloc, pvalloc */
    uint64_t live_bytes;        /* usable bytes of blocks currently allocated */
    uint64_t mapped_bytes;      /* bytes currently mapped from the OS (heap regions and large blocks) */
    uint64_t peak_mapped_bytes; /* highest mapped_bytes seen */
    uint64_t returned_bytes;    /* bytes given back to the OS so far (munmap and madvise) */
    uint64_t heap_bytes;        /* bytes of heap regions (mapped_bytes less large mmapped blocks) */
    uint64_t free_heap_bytes;   /* bytes of heap regions sitting in free chunks */
};

/* Fills *out (at most `size` bytes of it, so older callers keep working)
 * and returns 0; returns -1 if out is NULL. Never allocates. */
int lwm_get_stats(struct lwm_stats *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif

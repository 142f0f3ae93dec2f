/* lwm_get_stats from <lwmalloc.h>: the counters must follow what the
 * program does. Only meaningful under lwmalloc; against glibc every group
 * reports a skip (lwm_get_stats does not exist there). */
#include "harness.h"

#include <malloc.h>

#define SMALL_BLOCKS 110000

static void *small_blocks[SMALL_BLOCKS];

static lwm_get_stats_fn get_stats_or_skip(void)
{
    lwm_get_stats_fn get_stats = find_lwm_get_stats();
    if (get_stats == NULL)
        ok("SKIP lwm_get_stats is not available (not running under lwmalloc)");
    return get_stats;
}

static struct lwm_stats snapshot(lwm_get_stats_fn get_stats)
{
    struct lwm_stats s;
    memset(&s, 0, sizeof s);
    int rc = get_stats(&s, sizeof s);
    CHECK(rc == 0, "lwm_get_stats returned %d", rc);
    return s;
}

static void check_invariants(const struct lwm_stats *s, const char *when)
{
    CHECK(s->version == LWM_STATS_VERSION, "%s: version %llu", when,
          (unsigned long long)s->version);
    CHECK(s->peak_mapped_bytes >= s->mapped_bytes, "%s: peak_mapped %llu < mapped %llu", when,
          (unsigned long long)s->peak_mapped_bytes, (unsigned long long)s->mapped_bytes);
    CHECK(s->mapped_bytes >= s->heap_bytes, "%s: mapped %llu < heap %llu", when,
          (unsigned long long)s->mapped_bytes, (unsigned long long)s->heap_bytes);
    CHECK(s->heap_bytes >= s->free_heap_bytes, "%s: heap %llu < free_heap %llu", when,
          (unsigned long long)s->heap_bytes, (unsigned long long)s->free_heap_bytes);
    /* Every live block sits in mapped memory. */
    CHECK(s->mapped_bytes >= s->live_bytes, "%s: mapped %llu < live %llu", when,
          (unsigned long long)s->mapped_bytes, (unsigned long long)s->live_bytes);
}

static void interface_contract(void)
{
    lwm_get_stats_fn get_stats = get_stats_or_skip();
    if (!get_stats)
        return;
    CHECK(get_stats(NULL, sizeof(struct lwm_stats)) == -1, "lwm_get_stats(NULL) != -1");
    ok("lwm_get_stats(NULL, ..) returns -1");

    /* An older, shorter struct: only `size` bytes may be written. */
    unsigned char buffer[sizeof(struct lwm_stats) + 32];
    memset(buffer, 0xEE, sizeof buffer);
    CHECK(get_stats((struct lwm_stats *)(void *)buffer, 16) == 0, "lwm_get_stats(.., 16) != 0");
    uint64_t version;
    memcpy(&version, buffer, sizeof version);
    CHECK(version == LWM_STATS_VERSION, "version field is %llu", (unsigned long long)version);
    size_t bad = first_byte_not(buffer + 16, sizeof buffer - 16, 0xEE);
    CHECK(bad == sizeof buffer - 16, "lwm_get_stats(.., 16) wrote byte %zu", 16 + bad);
    ok("lwm_get_stats(out, 16) fills only the first 16 bytes (version = %d)", LWM_STATS_VERSION);

    struct lwm_stats s = snapshot(get_stats);
    check_invariants(&s, "at start");
    ok("stats are consistent: peak_mapped >= mapped >= heap >= free_heap, mapped >= live");
}

static void call_counters(void)
{
    lwm_get_stats_fn get_stats = get_stats_or_skip();
    if (!get_stats)
        return;
    enum { N = 1000 };
    static void *blocks[N];

    struct lwm_stats s0 = snapshot(get_stats);
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(32 + (size_t)i);
    struct lwm_stats s1 = snapshot(get_stats);
    CHECK(s1.malloc_calls >= s0.malloc_calls + N, "malloc_calls %llu -> %llu after %d mallocs",
          (unsigned long long)s0.malloc_calls, (unsigned long long)s1.malloc_calls, N);
    ok("malloc_calls grows by >= %d after %d mallocs", N, N);

    for (int i = 0; i < N; i++)
        blocks[i] = realloc(blocks[i], 64 + (size_t)i);
    struct lwm_stats s2 = snapshot(get_stats);
    CHECK(s2.realloc_calls >= s1.realloc_calls + N, "realloc_calls %llu -> %llu after %d reallocs",
          (unsigned long long)s1.realloc_calls, (unsigned long long)s2.realloc_calls, N);
    ok("realloc_calls grows by >= %d after %d reallocs", N, N);

    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct lwm_stats s3 = snapshot(get_stats);
    CHECK(s3.free_calls >= s2.free_calls + N, "free_calls %llu -> %llu after %d frees",
          (unsigned long long)s2.free_calls, (unsigned long long)s3.free_calls, N);
    free(NULL);
    struct lwm_stats s3b = snapshot(get_stats);
    CHECK(s3b.free_calls == s3.free_calls, "free(NULL) counted: free_calls %llu -> %llu",
          (unsigned long long)s3.free_calls, (unsigned long long)s3b.free_calls);
    ok("free_calls grows by >= %d after %d frees and free(NULL) is not counted", N, N);

    for (int i = 0; i < N; i++)
        blocks[i] = calloc(4, 8);
    struct lwm_stats s4 = snapshot(get_stats);
    CHECK(s4.calloc_calls >= s3b.calloc_calls + N, "calloc_calls %llu -> %llu after %d callocs",
          (unsigned long long)s3b.calloc_calls, (unsigned long long)s4.calloc_calls, N);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    ok("calloc_calls grows by >= %d after %d callocs", N, N);

    struct lwm_stats s5 = snapshot(get_stats);
    void *a = memalign(64, 100), *b = NULL, *c = aligned_alloc(128, 256), *d = valloc(10),
         *e = pvalloc(10);
    CHECK(posix_memalign(&b, 256, 100) == 0, "posix_memalign failed");
    struct lwm_stats s6 = snapshot(get_stats);
    CHECK(s6.aligned_calls >= s5.aligned_calls + 5,
          "aligned_calls %llu -> %llu after memalign, posix_memalign, aligned_alloc, valloc, "
          "pvalloc",
          (unsigned long long)s5.aligned_calls, (unsigned long long)s6.aligned_calls);
    free(a), free(b), free(c), free(d), free(e);
    ok("aligned_calls counts memalign, posix_memalign, aligned_alloc, valloc and pvalloc");
    check_invariants(&s6, "after the call counters");
}

static void live_bytes_follow_allocations(void)
{
    lwm_get_stats_fn get_stats = get_stats_or_skip();
    if (!get_stats)
        return;
    const size_t block = 100, total = (size_t)10 << 20;
    const size_t count = total / block + 1;
    CHECK(count <= SMALL_BLOCKS, "%zu blocks do not fit the array", count);

    struct lwm_stats before = snapshot(get_stats);
    for (size_t i = 0; i < count; i++) {
        small_blocks[i] = malloc(block);
        CHECK(small_blocks[i] != NULL, "malloc(%zu) #%zu returned NULL", block, i);
    }
    struct lwm_stats during = snapshot(get_stats);
    CHECK(during.live_bytes >= before.live_bytes + total,
          "live_bytes %llu -> %llu after allocating %zu bytes in %zu-byte blocks",
          (unsigned long long)before.live_bytes, (unsigned long long)during.live_bytes, total,
          block);
    CHECK(during.peak_mapped_bytes >= total, "peak_mapped %llu < %zu",
          (unsigned long long)during.peak_mapped_bytes, total);
    check_invariants(&during, "with 10 MiB live");
    ok("live_bytes rises by >= 10 MiB after 10 MiB of %zu-byte mallocs", block);

    for (size_t i = 0; i < count; i++)
        free(small_blocks[i]);
    struct lwm_stats after = snapshot(get_stats);
    CHECK(after.live_bytes + total <= during.live_bytes,
          "live_bytes %llu -> %llu after freeing %zu bytes", (unsigned long long)during.live_bytes,
          (unsigned long long)after.live_bytes, total);
    CHECK(after.returned_bytes >= during.returned_bytes, "returned_bytes went down: %llu -> %llu",
          (unsigned long long)during.returned_bytes, (unsigned long long)after.returned_bytes);
    check_invariants(&after, "after freeing 10 MiB");
    ok("live_bytes falls by >= 10 MiB after freeing them (now %llu)",
       (unsigned long long)after.live_bytes);
}

int main(int argc, char **argv)
{
    static const struct test_group groups[] = {
        {"interface_contract", interface_contract},
        {"call_counters", call_counters},
        {"live_bytes_follow_allocations", live_bytes_follow_allocations},
    };
    return run_test_groups("stats_api", argc, argv, groups, sizeof groups / sizeof groups[0]);
}

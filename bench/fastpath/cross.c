/* Cross-thread driver: the main thread allocates blocks of 32 B and a
 * second thread frees them, in rounds of BATCH blocks:
 *
 *   main:   malloc BATCH blocks | barrier |                    | barrier | ...
 *   other:                      | barrier | free those blocks  | barrier | ...
 *
 * The phases alternate, so the count of instructions does not depend on
 * how the scheduler interleaves the threads. The two barriers cost a few
 * hundred instructions per round, well under one per pair.
 *
 *   cross ITERATIONS            (a multiple of BATCH) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define BATCH 1000
#define SIZE 32

static char *buf[BATCH];
static long rounds;
static pthread_barrier_t barrier;

static void *consumer(void *arg)
{
    (void)arg;
    for (long r = 0; r < rounds; r++) {
        pthread_barrier_wait(&barrier);
        for (int i = 0; i < BATCH; i++)
            free(buf[i]);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 0 || n % BATCH != 0) {
        fprintf(stderr, "%s: ITERATIONS must be a multiple of %d\n", argv[0], BATCH);
        return 2;
    }
    rounds = n / BATCH;
    pthread_t thread;
    if (pthread_barrier_init(&barrier, NULL, 2) != 0 ||
        pthread_create(&thread, NULL, consumer, NULL) != 0)
        return 1;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) {
            char *p = malloc(SIZE);
            if (!p)
                return 1;
            p[0] = (char)i;
            buf[i] = p;
        }
        pthread_barrier_wait(&barrier);
        pthread_barrier_wait(&barrier);
    }
    return pthread_join(thread, NULL) != 0;
}

/* What a fork costs a process that allocates: 64 live blocks of 16-3000 B,
 * then 1000 times: fork, the child _exits at once, the parent waits for it
 * and replaces its 64 blocks. Prints the time per fork and the page faults
 * per fork in the parent and in the children (the allocator's fork
 * handlers run in both; a child that touches pages it never needed pays a
 * fault for each).
 *
 *   cc -O1 -fno-builtin -o fork_cost bench/fork/fork_cost.c
 *   ./fork_cost                                              # glibc
 *   LD_PRELOAD=target/release/liblwmalloc.so ./fork_cost
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { LIVE = 64, FORKS = 1000 };

static unsigned seed = 7;

static size_t next_size(void)
{
    seed = seed * 1103515245u + 12345u;
    return 16 + (seed >> 8) % 3000;
}

int main(void)
{
    char *blocks[LIVE];
    for (int i = 0; i < LIVE; i++)
        blocks[i] = malloc(next_size());
    struct rusage self0, self1, children;
    struct timespec t0, t1;
    getrusage(RUSAGE_SELF, &self0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < FORKS; k++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
            perror("fork");
            return 1;
        }
        for (int i = 0; i < LIVE; i++) {
            free(blocks[i]);
            blocks[i] = malloc(next_size());
            if (!blocks[i])
                return 1;
            blocks[i][0] = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &self1);
    getrusage(RUSAGE_CHILDREN, &children);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
    printf("per fork: %.1f us, page faults: parent %.1f, child %.1f\n", us / FORKS,
           (double)(self1.ru_minflt - self0.ru_minflt) / FORKS,
           (double)children.ru_minflt / FORKS);
    return 0;
}

/* lwmalloc's stand-in for glibc's <support/check.h>: the assertion macros
   of glibc's test programs.  Written for lwmalloc (not derived from glibc).
   A failed TEST_VERIFY/TEST_COMPARE/FAIL is counted (support_record_failure)
   and the test carries on; the driver turns a 0 from do_test into 1 when
   anything was counted.  The *_EXIT forms stop the test at once.  */
#ifndef LWM_SHIM_SUPPORT_CHECK_H
#define LWM_SHIM_SUPPORT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Exit status for "this test cannot run here" (Automake's convention, as
   glibc's driver uses).  */
#define EXIT_UNSUPPORTED 77

static void support_record_failure (void) __attribute__ ((unused));
static int support_failure_count (void) __attribute__ ((unused));

#define LWM_CHECK_REPORT(...)                                           \
  do {                                                                  \
    fflush (stdout);                                                    \
    printf ("error: %s:%d: ", __FILE__, __LINE__);                      \
    printf (__VA_ARGS__);                                               \
    putchar ('\n');                                                     \
    fflush (stdout);                                                    \
  } while (0)

#define TEST_VERIFY(expr)                                               \
  do {                                                                  \
    if (!(expr))                                                        \
      {                                                                 \
        LWM_CHECK_REPORT ("not true: %s", #expr);                       \
        support_record_failure ();                                      \
      }                                                                 \
  } while (0)

#define TEST_VERIFY_EXIT(expr)                                          \
  do {                                                                  \
    if (!(expr))                                                        \
      {                                                                 \
        LWM_CHECK_REPORT ("not true: %s", #expr);                       \
        exit (1);                                                       \
      }                                                                 \
  } while (0)

/* Integers only, as every caller in the malloc tests; printed as
   long long, which is wide enough for what they compare (pids, statuses,
   sizes).  */
#define TEST_COMPARE(left, right)                                       \
  do {                                                                  \
    __typeof__ (left) lwm_left = (left);                                \
    __typeof__ (right) lwm_right = (right);                             \
    if (!(lwm_left == lwm_right))                                       \
      {                                                                 \
        LWM_CHECK_REPORT ("%s == %s: %lld != %lld", #left, #right,      \
                          (long long) lwm_left, (long long) lwm_right); \
        support_record_failure ();                                      \
      }                                                                 \
  } while (0)

/* Count a failure, say why, go on.  */
#define FAIL(...)                                                       \
  do { LWM_CHECK_REPORT (__VA_ARGS__); support_record_failure (); } while (0)
/* Count a failure and return 1 from the calling function.  */
#define FAIL_RET(...)                                                   \
  do { FAIL (__VA_ARGS__); return 1; } while (0)
#define FAIL_EXIT(status, ...)                                          \
  do { LWM_CHECK_REPORT (__VA_ARGS__); exit (status); } while (0)
#define FAIL_EXIT1(...) FAIL_EXIT (1, __VA_ARGS__)
#define FAIL_UNSUPPORTED(...)                                           \
  do {                                                                  \
    fflush (stdout);                                                    \
    printf ("unsupported: %s:%d: ", __FILE__, __LINE__);                \
    printf (__VA_ARGS__);                                               \
    putchar ('\n');                                                     \
    exit (EXIT_UNSUPPORTED);                                            \
  } while (0)

/* The failure count lives in a shared anonymous page set up by the driver
   before it forks the test, so failures recorded in the test's own child
   processes count too.  Without the driver (--direct), a static.  */
static volatile int lwm_failures_local;
static volatile int *lwm_failures = &lwm_failures_local;

static void
support_record_failure (void)
{
  __atomic_add_fetch (lwm_failures, 1, __ATOMIC_RELAXED);
}

static int
support_failure_count (void)
{
  return __atomic_load_n (lwm_failures, __ATOMIC_RELAXED);
}

#endif

/* lwmalloc's stand-in for glibc's <support/xthread.h>: pthread calls that
   end the test (exit 1, one line naming the call) when they fail.
   Written for lwmalloc.  */
#ifndef LWM_SHIM_SUPPORT_XTHREAD_H
#define LWM_SHIM_SUPPORT_XTHREAD_H

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <support/check.h>

/* pthread functions return the error number instead of setting errno.  */
#define LWM_XPTHREAD(call)                                              \
  do {                                                                  \
    int lwm_ret = (call);                                               \
    if (lwm_ret != 0)                                                   \
      FAIL_EXIT1 ("%s: %s", #call, strerror (lwm_ret));                 \
  } while (0)

static __attribute__ ((unused)) pthread_t
xpthread_create (pthread_attr_t *attr, void *(*fn) (void *), void *arg)
{
  pthread_t thread;
  LWM_XPTHREAD (pthread_create (&thread, attr, fn, arg));
  return thread;
}

static __attribute__ ((unused)) void *
xpthread_join (pthread_t thread)
{
  void *result;
  LWM_XPTHREAD (pthread_join (thread, &result));
  return result;
}

static __attribute__ ((unused)) void
xpthread_barrier_init (pthread_barrier_t *b, pthread_barrierattr_t *attr,
                       unsigned int count)
{
  LWM_XPTHREAD (pthread_barrier_init (b, attr, count));
}

/* Returns whether this thread is the barrier's serial thread.  */
static __attribute__ ((unused)) int
xpthread_barrier_wait (pthread_barrier_t *b)
{
  int ret = pthread_barrier_wait (b);
  if (ret != 0 && ret != PTHREAD_BARRIER_SERIAL_THREAD)
    FAIL_EXIT1 ("pthread_barrier_wait: %s", strerror (ret));
  return ret == PTHREAD_BARRIER_SERIAL_THREAD;
}

static __attribute__ ((unused)) void
xpthread_barrier_destroy (pthread_barrier_t *b)
{
  LWM_XPTHREAD (pthread_barrier_destroy (b));
}

static __attribute__ ((unused)) void
xpthread_barrierattr_init (pthread_barrierattr_t *attr)
{
  LWM_XPTHREAD (pthread_barrierattr_init (attr));
}

static __attribute__ ((unused)) void
xpthread_barrierattr_setpshared (pthread_barrierattr_t *attr, int pshared)
{
  LWM_XPTHREAD (pthread_barrierattr_setpshared (attr, pshared));
}

static __attribute__ ((unused)) void
xpthread_barrierattr_destroy (pthread_barrierattr_t *attr)
{
  LWM_XPTHREAD (pthread_barrierattr_destroy (attr));
}

static __attribute__ ((unused)) void
xpthread_kill (pthread_t thread, int signo)
{
  LWM_XPTHREAD (pthread_kill (thread, signo));
}

static __attribute__ ((unused)) void
xpthread_mutex_lock (pthread_mutex_t *m)
{
  LWM_XPTHREAD (pthread_mutex_lock (m));
}

static __attribute__ ((unused)) void
xpthread_mutex_unlock (pthread_mutex_t *m)
{
  LWM_XPTHREAD (pthread_mutex_unlock (m));
}

#endif

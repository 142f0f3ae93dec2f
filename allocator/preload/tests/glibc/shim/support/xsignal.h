/* lwmalloc's stand-in for glibc's <support/xsignal.h>.  Written for
   lwmalloc.  */
#ifndef LWM_SHIM_SUPPORT_XSIGNAL_H
#define LWM_SHIM_SUPPORT_XSIGNAL_H

#include <signal.h>
#include <support/check.h>

static __attribute__ ((unused)) sighandler_t
xsignal (int signo, sighandler_t handler)
{
  sighandler_t old = signal (signo, handler);
  if (old == SIG_ERR)
    FAIL_EXIT1 ("signal (%d): %m", signo);
  return old;
}

#endif

/* lwmalloc's stand-in for glibc's <support/test-driver.h>.  Written for
   lwmalloc.  */
#ifndef LWM_SHIM_SUPPORT_TEST_DRIVER_H
#define LWM_SHIM_SUPPORT_TEST_DRIVER_H

/* Seconds a test may run unless it defines TIMEOUT; the TIMEOUTFACTOR
   environment variable multiplies either (slow or emulated machines).
   Tests read it to size their own run time.  */
#define DEFAULT_TIMEOUT 20

#endif

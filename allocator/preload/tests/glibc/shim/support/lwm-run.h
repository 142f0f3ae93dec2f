/* State the driver (support/test-driver.c) shares with the rest of the
   shim.  lwmalloc's own header; glibc has no such file.  */
#ifndef LWM_SHIM_SUPPORT_LWM_RUN_H
#define LWM_SHIM_SUPPORT_LWM_RUN_H
/* The directory the driver made for this run's temporary files.  */
static char lwm_temp_dir[4096] __attribute__ ((unused));
#endif

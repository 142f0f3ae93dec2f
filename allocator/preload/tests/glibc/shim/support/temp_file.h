/* lwmalloc's stand-in for glibc's <support/temp_file.h>.  Written for
   lwmalloc.  Files are made in the directory the driver creates for the
   run (lwm_temp_dir) and removes with everything in it when the test is
   over, even when it had to kill a hung test.  */
#ifndef LWM_SHIM_SUPPORT_TEMP_FILE_H
#define LWM_SHIM_SUPPORT_TEMP_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <support/check.h>
#include <support/lwm-run.h>

/* Creates BASE-XXXXXX in the run's directory; returns its descriptor (-1
   on failure) and, when FILENAME is not null, a malloc'd copy of its
   path.  */
static __attribute__ ((unused)) int
create_temp_file (const char *base, char **filename)
{
  char path[4096 + 256];
  if (snprintf (path, sizeof path, "%s/%s-XXXXXX", lwm_temp_dir, base)
      >= (int) sizeof path)
    return -1;
  int fd = mkstemp (path);
  if (fd < 0)
    return -1;
  if (filename != NULL)
    {
      *filename = strdup (path);
      if (*filename == NULL)
        FAIL_EXIT1 ("strdup: %m");
    }
  return fd;
}

/* Everything in the run's directory is removed anyway.  */
static __attribute__ ((unused)) void
add_temp_file (const char *name)
{
  (void) name;
}

#endif

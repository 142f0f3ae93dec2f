/* lwmalloc's stand-in for glibc's <support/support.h>: allocation
   wrappers that end the test on failure, shared memory for tests that
   fork, and an async-signal-safe message writer.  Written for lwmalloc.  */
#ifndef LWM_SHIM_SUPPORT_SUPPORT_H
#define LWM_SHIM_SUPPORT_SUPPORT_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <support/check.h>

#define LWM_UNUSED __attribute__ ((unused))

static LWM_UNUSED void *
xmalloc (size_t n)
{
  void *p = malloc (n);
  if (p == NULL && n != 0)
    FAIL_EXIT1 ("malloc (%zu): %m", n);
  return p;
}

static LWM_UNUSED void *
xcalloc (size_t count, size_t size)
{
  void *p = calloc (count, size);
  if (p == NULL && count != 0 && size != 0)
    FAIL_EXIT1 ("calloc (%zu, %zu): %m", count, size);
  return p;
}

static LWM_UNUSED void *
xrealloc (void *old, size_t n)
{
  void *p = realloc (old, n);
  if (p == NULL && n != 0)
    FAIL_EXIT1 ("realloc (%p, %zu): %m", old, n);
  return p;
}

static LWM_UNUSED char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (p == NULL)
    FAIL_EXIT1 ("strdup: %m");
  return p;
}

/* write(2) only: callable from signal handlers and after fork.  */
static LWM_UNUSED void
write_message (const char *message)
{
  int saved = errno;
  size_t left = strlen (message);
  while (left > 0)
    {
      ssize_t n = write (STDOUT_FILENO, message, left);
      if (n <= 0)
        break;
      message += n;
      left -= n;
    }
  errno = saved;
}

/* Memory shared with child processes (MAP_SHARED).  The size is kept
   in a header so support_shared_free can unmap it.  */
struct lwm_shared_header { size_t length; max_align_t align[]; };

static LWM_UNUSED void *
support_shared_allocate (size_t size)
{
  size_t length = sizeof (struct lwm_shared_header) + size;
  struct lwm_shared_header *h = mmap (NULL, length, PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (h == MAP_FAILED)
    FAIL_EXIT1 ("mmap of %zu shared bytes: %m", length);
  h->length = length;
  return h->align;
}

static LWM_UNUSED void
support_shared_free (void *p)
{
  struct lwm_shared_header *h
    = (struct lwm_shared_header *) ((char *) p - offsetof (struct lwm_shared_header, align));
  if (munmap (h, h->length) != 0)
    FAIL_EXIT1 ("munmap of shared memory: %m");
}

#endif

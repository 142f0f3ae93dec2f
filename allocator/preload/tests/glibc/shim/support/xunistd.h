/* lwmalloc's stand-in for glibc's <support/xunistd.h>: system calls that
   end the test (exit 1, one line naming the call) when they fail.
   Written for lwmalloc.  */
#ifndef LWM_SHIM_SUPPORT_XUNISTD_H
#define LWM_SHIM_SUPPORT_XUNISTD_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <support/check.h>

static __attribute__ ((unused)) pid_t
xfork (void)
{
  pid_t pid = fork ();
  if (pid < 0)
    FAIL_EXIT1 ("fork: %m");
  return pid;
}

static __attribute__ ((unused)) pid_t
xwaitpid (pid_t pid, int *status, int flags)
{
  pid_t ret = waitpid (pid, status, flags);
  if (ret < 0)
    FAIL_EXIT1 ("waitpid (%d): %m", (int) pid);
  return ret;
}

static __attribute__ ((unused)) long
xsysconf (int name)
{
  errno = 0;
  long ret = sysconf (name);
  if (ret < 0)
    FAIL_EXIT1 ("sysconf (%d): %s", name, errno ? strerror (errno) : "no value");
  return ret;
}

static __attribute__ ((unused)) int
xopen (const char *path, int flags, mode_t mode)
{
  int fd = open (path, flags, mode);
  if (fd < 0)
    FAIL_EXIT1 ("open (\"%s\"): %m", path);
  return fd;
}

static __attribute__ ((unused)) void
xclose (int fd)
{
  if (close (fd) != 0 && errno != EINTR)
    FAIL_EXIT1 ("close (%d): %m", fd);
}

static __attribute__ ((unused)) void
xpipe (int fds[2])
{
  if (pipe (fds) != 0)
    FAIL_EXIT1 ("pipe: %m");
}

static __attribute__ ((unused)) void *
xmmap (void *addr, size_t length, int prot, int flags, int fd)
{
  void *p = mmap (addr, length, prot, flags, fd, 0);
  if (p == MAP_FAILED)
    FAIL_EXIT1 ("mmap (%p, %zu bytes): %m", addr, length);
  return p;
}

static __attribute__ ((unused)) void
xmunmap (void *addr, size_t length)
{
  if (munmap (addr, length) != 0)
    FAIL_EXIT1 ("munmap (%p, %zu bytes): %m", addr, length);
}

#endif

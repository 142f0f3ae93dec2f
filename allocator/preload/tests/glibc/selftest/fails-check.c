/* Driver self-test: a failed TEST_VERIFY in a forked child, with do_test
   returning 0, must fail the test (driver exit status 1).  */
#include <sys/wait.h>
#include <unistd.h>
#include <support/check.h>

static int
do_test (void)
{
  pid_t pid = fork ();
  if (pid == 0)
    {
      TEST_VERIFY (1 + 1 == 3);
      _exit (0);
    }
  waitpid (pid, NULL, 0);
  return 0;
}

#include <support/test-driver.c>

/* Driver self-test: a hang must be reported as one (driver exit status
   124) after TIMEOUT seconds, and the processes the test forked killed
   with it: the child writes its pid to stdout first, the script checks
   it is gone.  */
#include <stdio.h>
#include <unistd.h>

static int
do_test (void)
{
  pid_t pid = fork ();
  if (pid == 0)
    {
      printf ("grandchild %d\n", (int) getpid ());
      for (;;)
        pause ();
    }
  for (;;)
    pause ();
}

#define TIMEOUT 1
#define TEST_FUNCTION do_test ()
#include <support/test-driver.c>

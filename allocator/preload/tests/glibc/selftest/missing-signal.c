/* Driver self-test: a test expecting SIGABRT that exits normally (a double
   free not detected) must fail (driver exit status 1).  */
#include <signal.h>

static int
do_test (void)
{
  return 0;
}

#define TEST_FUNCTION do_test
#define EXPECTED_SIGNAL SIGABRT
#include <support/test-driver.c>

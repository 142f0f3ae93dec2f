/* lwmalloc's stand-in for glibc's old `#include "../test-skeleton.c"`
   entry point: the same driver as <support/test-driver.c>.  The runner
   copies each test to <build>/malloc/ and this file to <build>/, so the
   relative include finds it and never glibc's own.  Written for lwmalloc. */
#include <support/check.h>
#include <support/test-driver.c>

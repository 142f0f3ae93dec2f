/* lwmalloc's stand-in for glibc's <support/test-driver.c>: the main() that
   a glibc test includes at its end.  Written for lwmalloc.

   It honours the conventions the malloc tests use:
   - do_test (void) is the test, or TEST_FUNCTION names it: either as a
     function (`do_test`) or as a call (`do_test ()`);
   - TIMEOUT (seconds, default DEFAULT_TIMEOUT) times the TIMEOUTFACTOR
     environment variable bounds the run;
   - EXPECTED_SIGNAL / EXPECTED_STATUS: the test passes only if it dies of
     that signal / exits with that status;
   - exit status 0 passes, 77 is "unsupported", anything else fails, and a
     0 becomes 1 if any TEST_VERIFY/TEST_COMPARE/FAIL failed.

   The test runs in a child process of its own process group, so that a
   hang (or an interruption of the driver) kills it together with every
   process it forked.  The driver's exit status: 0 pass, 77 unsupported,
   124 timed out (a hang), 1 any other failure; its last line on stdout,
   prefixed "driver:", says which.  `--direct` runs the test in-process,
   without the child or the timeout, for a debugger.

   With LWM_EXPECT=1 (the project's convention when preloading the
   library) the driver first checks that malloc & co. bind to liblwmalloc,
   so a preload that silently did not take effect cannot pass as lwmalloc.  */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <support/check.h>
#include <support/lwm-run.h>
#include <support/test-driver.h>

#if defined PREPARE || defined CLEANUP_HANDLER || defined CMDLINE_OPTIONS \
  || defined TEST_FUNCTION_ARGV || defined CMDLINE_PROCESS
# error "a test-driver hook lwmalloc's glibc shim does not implement"
#endif

#ifndef TIMEOUT
# define TIMEOUT DEFAULT_TIMEOUT
#endif

/* TEST_FUNCTION is either a function or an int expression: _Generic picks
   the helper that fits its type.  */
static __attribute__ ((unused)) int lwm_result_of (int result) { return result; }
static __attribute__ ((unused)) int lwm_call (int (*test) (void)) { return test (); }

static int
lwm_run_test (void)
{
#ifdef TEST_FUNCTION
  return _Generic ((TEST_FUNCTION), int: lwm_result_of,
                   default: lwm_call) (TEST_FUNCTION);
#else
  return do_test ();
#endif
}

static void
lwm_require_lwmalloc (void)
{
  static const char *const names[] = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign",
    "posix_memalign", "aligned_alloc", "valloc", "pvalloc",
    "malloc_usable_size",
  };
  const char *expect = getenv ("LWM_EXPECT");
  if (expect == NULL || strcmp (expect, "1") != 0)
    return;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      Dl_info info = { 0 };
      void *address = dlsym (RTLD_DEFAULT, names[i]);
      if (address == NULL || dladdr (address, &info) == 0
          || info.dli_fname == NULL || strstr (info.dli_fname, "liblwmalloc") == NULL)
        {
          printf ("driver: LWM_EXPECT=1 but %s is bound to %s, not liblwmalloc\n",
                  names[i], info.dli_fname ? info.dli_fname : "(nothing)");
          exit (1);
        }
    }
}

/* The verdict on the test's result, as the driver's exit status.  */
static int
lwm_verdict (int status)
{
  int failures = support_failure_count ();
  if (WIFSIGNALED (status))
    {
      int sig = WTERMSIG (status);
#ifdef EXPECTED_SIGNAL
      if (sig == EXPECTED_SIGNAL)
        {
          printf ("driver: killed by signal %d (%s), as expected\n", sig, strsignal (sig));
          return 0;
        }
#endif
      printf ("driver: FAIL: killed by signal %d (%s)\n", sig, strsignal (sig));
      return 1;
    }
  int code = WEXITSTATUS (status);
#ifdef EXPECTED_SIGNAL
  printf ("driver: FAIL: exited with status %d, expected signal %d (%s)\n",
          code, EXPECTED_SIGNAL, strsignal (EXPECTED_SIGNAL));
  return 1;
#endif
#ifdef EXPECTED_STATUS
  if (code == EXPECTED_STATUS && failures == 0)
    {
      printf ("driver: exited with status %d, as expected\n", code);
      return 0;
    }
  printf ("driver: FAIL: exited with status %d (expected %d), %d failed checks\n",
          code, EXPECTED_STATUS, failures);
  return 1;
#endif
  if (failures > 0)
    {
      printf ("driver: FAIL: %d failed checks (exit status %d)\n", failures, code);
      return 1;
    }
  if (code == 0 || code == EXIT_UNSUPPORTED)
    {
      printf ("driver: %s\n", code == 0 ? "PASS" : "UNSUPPORTED");
      return code;
    }
  printf ("driver: FAIL: exit status %d\n", code);
  return 1;
}

static volatile sig_atomic_t lwm_stop_signal;
static void lwm_on_signal (int sig) { lwm_stop_signal = sig; }

/* The run's temporary directory holds only files: remove them, then it.  */
static void
lwm_remove_temp_dir (void)
{
  DIR *dir = opendir (lwm_temp_dir);
  if (dir == NULL)
    return;
  struct dirent *entry;
  char path[sizeof lwm_temp_dir + 256];
  while ((entry = readdir (dir)) != NULL)
    if (strcmp (entry->d_name, ".") != 0 && strcmp (entry->d_name, ".."))
      {
        snprintf (path, sizeof path, "%s/%s", lwm_temp_dir, entry->d_name);
        unlink (path);
      }
  closedir (dir);
  rmdir (lwm_temp_dir);
}

int
main (int argc, char **argv)
{
  /* Unbuffered: what the test printed reaches the log even if it is
     killed.  */
  setvbuf (stdout, NULL, _IONBF, 0);
  lwm_require_lwmalloc ();

  const char *tmp = getenv ("TMPDIR");
  snprintf (lwm_temp_dir, sizeof lwm_temp_dir, "%s/lwm-glibc-test-XXXXXX",
            tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
  if (mkdtemp (lwm_temp_dir) == NULL)
    {
      printf ("driver: cannot create a temporary directory in %s: %m\n",
              tmp ? tmp : "/tmp");
      return 1;
    }

  if (argc > 1 && strcmp (argv[1], "--direct") == 0)
    {
      int code = lwm_run_test ();
      lwm_remove_temp_dir ();
      return lwm_verdict (code << 8);
    }

  /* Failures recorded in any process of the test reach the driver.  */
  int *shared = mmap (NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED)
    {
      printf ("driver: mmap of the failure counter: %m\n");
      return 1;
    }
  lwm_failures = shared;

  double factor = 1;
  const char *factor_text = getenv ("TIMEOUTFACTOR");
  if (factor_text != NULL && atof (factor_text) > 0)
    factor = atof (factor_text);
  unsigned timeout = (unsigned) (TIMEOUT * factor + 0.5);

  /* No SA_RESTART: the alarm or a stop request interrupts waitpid.  */
  struct sigaction action = { .sa_handler = lwm_on_signal };
  sigemptyset (&action.sa_mask);
  int stop_signals[] = { SIGALRM, SIGTERM, SIGINT, SIGHUP };
  for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
    sigaction (stop_signals[i], &action, NULL);

  pid_t pid = fork ();
  if (pid < 0)
    {
      printf ("driver: fork: %m\n");
      return 1;
    }
  if (pid == 0)
    {
      setpgid (0, 0);
      for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        signal (stop_signals[i], SIG_DFL);
      int code = lwm_run_test ();
      /* exit, not _exit: the tests' atexit handlers must run.  */
      exit (code);
    }
  /* Also here, so the group exists before a kill aimed at it.  */
  setpgid (pid, pid);
  alarm (timeout);

  int status;
  while (waitpid (pid, &status, 0) < 0)
    {
      if (errno != EINTR)
        {
          printf ("driver: waitpid: %m\n");
          return 1;
        }
      if (lwm_stop_signal != 0)
        {
          kill (-pid, SIGKILL);
          kill (pid, SIGKILL);
          waitpid (pid, &status, 0);
          lwm_remove_temp_dir ();
          if (lwm_stop_signal == SIGALRM)
            printf ("driver: HANG: no result after %u s (TIMEOUT %d x TIMEOUTFACTOR %g), killed\n",
                    timeout, TIMEOUT, factor);
          else
            printf ("driver: interrupted by signal %d, test killed\n", (int) lwm_stop_signal);
          return 124;
        }
    }
  alarm (0);
  /* Processes the test forked and left behind.  */
  kill (-pid, SIGKILL);
  lwm_remove_temp_dir ();
  return lwm_verdict (status);
}

/* lwmalloc's stand-in for glibc's <libc-diag.h>: the tests silence
   compiler warnings about what they do on purpose (huge sizes, unused
   results).  Written for lwmalloc.  */
#ifndef LWM_SHIM_LIBC_DIAG_H
#define LWM_SHIM_LIBC_DIAG_H
#define LWM_DIAG_PRAGMA(text) _Pragma (#text)
#define DIAG_PUSH_NEEDS_COMMENT LWM_DIAG_PRAGMA (GCC diagnostic push)
#define DIAG_POP_NEEDS_COMMENT LWM_DIAG_PRAGMA (GCC diagnostic pop)
/* VERSION is the GCC version that needed it; ignoring the option on every
   compiler is harmless.  Unknown options are themselves ignored.  */
#define DIAG_IGNORE_NEEDS_COMMENT(version, option)                      \
  LWM_DIAG_PRAGMA (GCC diagnostic ignored option)
#define DIAG_IGNORE_Os_NEEDS_COMMENT(version, option)                   \
  DIAG_IGNORE_NEEDS_COMMENT (version, option)
#endif

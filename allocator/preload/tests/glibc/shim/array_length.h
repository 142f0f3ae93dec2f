/* lwmalloc's stand-in for glibc's <array_length.h>.  Written for lwmalloc. */
#ifndef LWM_SHIM_ARRAY_LENGTH_H
#define LWM_SHIM_ARRAY_LENGTH_H
#define array_length(a) (sizeof (a) / sizeof ((a)[0]))
#define array_end(a) (&(a)[array_length (a)])
#endif

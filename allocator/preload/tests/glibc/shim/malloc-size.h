/* lwmalloc's stand-in for glibc's internal <malloc-size.h>: the alignment
   every malloc result must have.  C requires alignment suitable for any
   fundamental type, which is max_align_t's (16 on x86_64 and aarch64, 8 on
   32-bit ARM): the same value glibc's malloc uses there.  Written for
   lwmalloc.  */
#ifndef LWM_SHIM_MALLOC_SIZE_H
#define LWM_SHIM_MALLOC_SIZE_H
#include <stddef.h>
#define MALLOC_ALIGNMENT (_Alignof (max_align_t))
#define MALLOC_ALIGN_MASK (MALLOC_ALIGNMENT - 1)
#endif

/* __dso_handle of a shared library: its own address, as in libgcc's
   crtbeginS.o, so __cxa_atexit / __cxa_thread_atexit_impl handlers are
   tied to this library. */
#include "common.h"
	.section .data.rel.ro,"aw"
	.align	2
	.hidden	__dso_handle
	.global	__dso_handle
	.type	__dso_handle, %object
	.size	__dso_handle, 4
__dso_handle:
	.word	__dso_handle

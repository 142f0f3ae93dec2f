/* __dso_handle of an executable: zero, as in libgcc's crtbegin.o. */
#include "common.h"
	.data
	.align	2
	.hidden	__dso_handle
	.global	__dso_handle
	.type	__dso_handle, %object
	.size	__dso_handle, 4
__dso_handle:
	.word	0

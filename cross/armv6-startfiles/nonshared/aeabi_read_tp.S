/* __aeabi_read_tp: the thread pointer, from TPIDRURO, which the ARM1176
   (ARMv6K) has. Called by code for ARMv6 targets without a hard thread
   pointer; must preserve every register but r0 (EABI). Hidden, as glibc's. */
#include "../common.h"
	.text
	.align	2
	.hidden	__aeabi_read_tp
	.global	__aeabi_read_tp
	.type	__aeabi_read_tp, %function
__aeabi_read_tp:
	mrc	p15, 0, r0, c13, c0, 3
	bx	lr
	.size	__aeabi_read_tp, . - __aeabi_read_tp

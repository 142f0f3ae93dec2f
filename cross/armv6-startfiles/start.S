/* _start for ARMv6 hard-float glibc programs (PIE or not): what glibc's
   sysdeps/arm/start.S does for glibc >= 2.34, in ARM mode only.
   On entry: r0 = rtld_fini from the dynamic loader, sp -> argc, argv... */
#include "common.h"
	.text
	.align	2
	.global	_start
	.type	_start, %function
_start:
	mov	fp, #0			/* outermost frame */
	mov	lr, #0
	pop	{r1}			/* argc */
	mov	r2, sp			/* argv */
	push	{r2}			/* stack_end */
	push	{r0}			/* rtld_fini */
	mov	ip, #0
	push	{ip}			/* fini: unused since glibc 2.34 */
	mov	r3, #0			/* init: unused since glibc 2.34 */
	ldr	r0, .Lmain_offset	/* main, position-independent */
.Lpc:	add	r0, pc, r0
	bl	__libc_start_main(PLT)
	bl	abort(PLT)		/* __libc_start_main never returns */
	.align	2
.Lmain_offset:
	.word	main - (.Lpc + 8)
	.size	_start, . - _start

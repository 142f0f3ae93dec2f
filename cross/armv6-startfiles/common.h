/* Shared by the stand-in start files: ARM (not Thumb) code, the hard-float
   ABI tag the linker checks against Rust's objects, no executable stack. */
	.syntax unified
	.arm
	.eabi_attribute 28, 1	/* Tag_ABI_VFP_args: arguments in VFP registers */
	.section .note.GNU-stack,"",%progbits

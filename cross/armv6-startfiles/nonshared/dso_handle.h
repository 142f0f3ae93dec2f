/* ARMv6 (ARM state) stand-ins for the members of glibc's libc_nonshared.a,
   one object each like glibc's, so a link pulls in only what it uses.
   Debian's armhf libc_nonshared.a is Thumb-2: linking its pthread_atfork
   (the allocator's fork handlers) or __aeabi_read_tp (every thread_local
   on ARMv6) would put ARMv7-only code into an ARMv6 binary. Same bodies as
   glibc's, and hidden like glibc's, so each binary has its own copy. */
#define LOCAL __attribute__((visibility("hidden")))
extern void *__dso_handle LOCAL;

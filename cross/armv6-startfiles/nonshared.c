/* ARMv6 (ARM mode) stand-ins for the members of glibc's libc_nonshared.a
   that Rust and SQLite code use. Debian's armhf libc_nonshared.a is
   Thumb-2: linking its pthread_atfork (the allocator's fork handlers) or
   __aeabi_read_tp (every thread_local on ARMv6) would put ARMv7-only code
   into an ARMv6 binary. Same bodies as glibc's. */
#include <stddef.h>

extern void *__dso_handle __attribute__((visibility("hidden")));
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                      void *dso_handle);
int __cxa_atexit(void (*func)(void *), void *arg, void *dso_handle);
int __cxa_at_quick_exit(void (*func)(void *), void *dso_handle);
void __stack_chk_fail(void) __attribute__((noreturn));

int pthread_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    return __register_atfork(prepare, parent, child, __dso_handle);
}

int atexit(void (*func)(void)) {
    return __cxa_atexit((void (*)(void *))func, NULL, __dso_handle);
}

int at_quick_exit(void (*func)(void)) {
    return __cxa_at_quick_exit((void (*)(void *))func, __dso_handle);
}

__attribute__((visibility("hidden"), noreturn)) void __stack_chk_fail_local(void) {
    __stack_chk_fail();
}

/* The thread pointer: TPIDRURO, which the ARM1176 (ARMv6K) has. Called by
   code for ARMv6 targets without a hard thread-pointer feature; preserves
   every register but r0, as the EABI requires. */
__attribute__((naked)) void *__aeabi_read_tp(void) {
    __asm__("mrc p15, 0, r0, c13, c0, 3\n\tbx lr");
}

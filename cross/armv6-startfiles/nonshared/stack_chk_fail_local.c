#include "dso_handle.h"

void __stack_chk_fail(void) __attribute__((noreturn));

LOCAL __attribute__((noreturn)) void __stack_chk_fail_local(void) {
    __stack_chk_fail();
}

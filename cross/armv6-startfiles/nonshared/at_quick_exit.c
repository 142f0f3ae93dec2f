#include "dso_handle.h"

int __cxa_at_quick_exit(void (*func)(void *), void *dso_handle);

LOCAL int at_quick_exit(void (*func)(void)) {
    return __cxa_at_quick_exit((void (*)(void *))func, __dso_handle);
}

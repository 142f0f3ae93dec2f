#include <stddef.h>
#include "dso_handle.h"

int __cxa_atexit(void (*func)(void *), void *arg, void *dso_handle);

LOCAL int atexit(void (*func)(void)) {
    return __cxa_atexit((void (*)(void *))func, NULL, __dso_handle);
}

"""Out-of-memory probe of `lwm qualify` (kind `out-of-memory`).

Run under an address-space limit (the agent's --limit-as), with the
allocator under test preloaded. Through ctypes it calls the C library's
malloc, calloc, realloc and posix_memalign, which LD_PRELOAD binds to the
allocator, until they fail, and checks that every failure is NULL (or an
error code) with errno ENOMEM, that the process survives, and that memory
freed afterwards can be allocated again. Exit 0 and one line `oom-probe: ok`
on stdout (the same under every allocator, so outputs compare), or exit 1
with the reason on stderr. A crash or a hang is the agent's to report.
"""

import ctypes
import errno
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.calloc.restype = ctypes.c_void_p
libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
libc.realloc.restype = ctypes.c_void_p
libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.free.restype = None
libc.free.argtypes = [ctypes.c_void_p]
libc.posix_memalign.restype = ctypes.c_int
libc.posix_memalign.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t, ctypes.c_size_t]
libc.memset.restype = ctypes.c_void_p
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]

MAX_BLOCKS = 1 << 16
held = (ctypes.c_void_p * MAX_BLOCKS)()
count = 0


def fail(why):
    sys.stderr.write("oom-probe: " + why + "\n")
    sys.exit(1)


def expect_enomem(what):
    e = ctypes.get_errno()
    if e != errno.ENOMEM:
        fail("%s failed with errno %d (%s), not ENOMEM" % (what, e, errno.errorcode.get(e, "?")))


def too_large(what, call):
    ctypes.set_errno(0)
    p = call()
    if p:
        fail("%s returned a block it cannot have" % what)
    expect_enomem(what)


# Requests no address space can hold.
too_large("malloc(SIZE_MAX/2)", lambda: libc.malloc(sys.maxsize))
too_large("calloc(2^20, SIZE_MAX/2^20)", lambda: libc.calloc(1 << 20, (sys.maxsize >> 19)))

# Fill the address space with ever smaller blocks until each size fails.
for size in (1 << 24, 1 << 20, 64 << 10, 4 << 10, 256):
    while True:
        if count == MAX_BLOCKS:
            fail("limit never reached: raise MAX_BLOCKS or lower limit_as")
        ctypes.set_errno(0)
        p = libc.malloc(size)
        if not p:
            expect_enomem("malloc(%d) at the limit" % size)
            break
        libc.memset(p, 0x5A, size)
        held[count] = p
        count += 1

if count < 4:
    fail("only %d blocks fitted under the limit: it is too low to test anything" % count)

# The first (largest) block back, so that Python itself has room to go on:
# calling into C makes Python objects, which need memory too.
libc.free(held[0])
held[0] = None

# Near the limit: realloc growing a block past it fails and leaves it intact.
ctypes.set_errno(0)
q = libc.realloc(held[1], 1 << 40)
if q:
    fail("realloc(p, 1 TiB) returned a block it cannot have")
expect_enomem("realloc(p, 1 TiB) near the limit")
libc.memset(held[1], 0x5A, 16)
out = ctypes.c_void_p()
rc = libc.posix_memalign(ctypes.byref(out), 4096, 1 << 40)
if rc == 0:
    fail("posix_memalign(4096, 1 TiB) returned a block it cannot have")
if rc != errno.ENOMEM:
    fail("posix_memalign(4096, 1 TiB) returned %d, not ENOMEM" % rc)

# Everything back, then the memory must be usable again.
for i in range(1, count):
    libc.free(held[i])
p = libc.malloc(1 << 20)
if not p:
    fail("malloc(1 MiB) failed after everything was freed")
libc.memset(p, 0, 1 << 20)
libc.free(p)
print("oom-probe: ok")

"""Proof that liblwmalloc.so is mapped, recorded by every Python process.

scripts/test-cpython.sh puts this file's directory first on PYTHONPATH under
the name sitecustomize.py, so `site` imports it at the start of every
interpreter that is not isolated (-I/-E): regrtest's main process, each -j
worker (one per test module) and the interpreters they spawn. Each appends
"PID mapped|NOT-MAPPED ARGV" to the file named by LWM_PROOF_LOG; the script
then checks the count and the verdicts. It prints nothing, since tests
compare output. It shadows Debian's sitecustomize, which only installs
apport's hook (and apport is not installed where this runs).
"""

import os
import sys


def _record():
    log = os.environ.get("LWM_PROOF_LOG")
    if not log:
        return
    with open("/proc/self/maps", encoding="utf-8") as maps:
        mapped = "liblwmalloc" in maps.read()
    verdict = "mapped" if mapped else "NOT-MAPPED"
    # One short O_APPEND write per process, so concurrent lines do not mix.
    line = f"{os.getpid()} {verdict} {' '.join(sys.argv)[:160]}\n"
    with open(log, "a", encoding="utf-8") as out:
        out.write(line)


_record()
del _record

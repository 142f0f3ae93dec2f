#!/bin/sh
# Assembles the ARMv6 hard-float stand-in start files and libc_nonshared.a
# from SRC into OUT, exactly as `lwm build` does
# (orchestrator/src/build/startfiles.rs: same objects, flags and libc.so
# linker script; keep the two in step).
#
#   make-startfiles.sh SRC OUT
set -eu
src=$1 out=$2
cc=arm-linux-gnueabihf-gcc
flags="-march=armv6kz+fp -marm -mfpu=vfp -mfloat-abi=hard"
sysroot=/usr/arm-linux-gnueabihf
mkdir -p "$out"
# shellcheck disable=SC2086
{
  for o in crt1.o Scrt1.o; do $cc $flags -c "$src/start.S" -o "$out/$o"; done
  for o in crtbegin.o crtbeginT.o; do $cc $flags -c "$src/dso_handle_exe.S" -o "$out/$o"; done
  $cc $flags -c "$src/dso_handle_shared.S" -o "$out/crtbeginS.o"
  for o in crti.o crtn.o crtend.o crtendS.o; do $cc $flags -c "$src/empty.S" -o "$out/$o"; done
  members=
  for m in pthread_atfork.c atexit.c at_quick_exit.c stack_chk_fail_local.c aeabi_read_tp.S; do
    obj=$out/${m%%.*}.o
    $cc $flags -O2 -fPIC -Wall -Wextra -Werror -c "$src/nonshared/$m" -o "$obj"
    members="$members $obj"
  done
  rm -f "$out/libc_nonshared.a"
  arm-linux-gnueabihf-ar rcs "$out/libc_nonshared.a" $members
}
loader=$(ls "$sysroot"/lib/ld-linux*.so* | head -n 1)
cat >"$out/libc.so" <<SCRIPT
/* Written by make-startfiles.sh: Debian's libc.so with an ARMv6 libc_nonshared.a. */
OUTPUT_FORMAT(elf32-littlearm)
GROUP ( $sysroot/lib/libc.so.6 $out/libc_nonshared.a AS_NEEDED ( $loader ) )
SCRIPT

# Pi 4 stand-in: `qemu-system-aarch64 -M virt -cpu cortex-a72` (ARMv8.0,
# no LSE atomics, like the Pi 4's Cortex-A72), 2 cores, 1 GiB, Debian
# bookworm arm64 with Debian's arm64 kernel. QEMU 7.2 has no Pi 4 machine.
ARCH=arm64
SUITE=bookworm
KERNEL_META=linux-image-arm64
MODULES="virtio_pci virtio_net virtio_rng"
# python3-minimal and sqlite3: real programs for `lwm eval -- PROGRAM`
# (orchestrator/tests/vm_eval.rs runs a pushed python3 script and the
# sqlite3 CLI here); about 15 MB of the root filesystem.
PACKAGES="libjemalloc2,libmimalloc2.0,libtcmalloc-minimal4,python3-minimal,sqlite3"

finish_image() {
  local out=$1 work=$2 kver=$3
  cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
}

# Pi Zero stand-in: `qemu-system-arm -M raspi0` (ARM1176, 512 MB), Debian
# bookworm armel (soft-float, ARMv5TE userland the ARM1176 runs, so it runs
# the arm-unknown-linux-gnueabi build) with Debian's rpi kernel. The
# network is a USB gadget (QEMU usb-net) behind the SoC's dwc2 controller.
ARCH=armel
SUITE=bookworm
KERNEL_META=linux-image-rpi
MODULES="usbnet cdc_ether rndis_host"
PACKAGES="libjemalloc2,libmimalloc2.0,libtcmalloc-minimal4"

finish_image() {
  local out=$1 work=$2 kver=$3 dtb
  cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
  dtb=$(find "$work/kernel/usr/lib" -name bcm2835-rpi-zero.dtb | head -n 1)
  [ -n "$dtb" ] || { log "kernel $kver has no bcm2835-rpi-zero.dtb"; return 1; }
  cp "$dtb" "$out/board.dtb"
  # QEMU's raspi0 has no working watchdog or USB power domain; the USB
  # controller must be a host for usb-net to appear.
  fdtput -t s "$out/board.dtb" /soc/watchdog@7e100000 status disabled
  fdtput -d "$out/board.dtb" /soc/usb@7e980000 power-domains
  fdtput -t s "$out/board.dtb" /soc/usb@7e980000 dr_mode host
}

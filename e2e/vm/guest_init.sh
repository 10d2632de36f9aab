#!/bin/sh
# Stage 1 in the guest (/init of the initramfs): the initramfs root cannot be pivoted away
# from, so copy everything onto a tmpfs and switch_root there, as a real boot would.
/bin/busybox mkdir -p /proc /newroot
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t tmpfs -o size=900m tmpfs /newroot
for d in bin lib lib64 usr berth etc; do
  [ -e "/$d" ] && /bin/busybox cp -a "/$d" /newroot/
done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
/bin/busybox umount /proc
exec /bin/busybox switch_root /newroot /berth/guest_tests.sh

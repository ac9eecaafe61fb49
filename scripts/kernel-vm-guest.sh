#!/bin/bash
# The guest side of scripts/kernel-vm.sh: PID 1 of the KVM guest, on the host's root over 9p.
#   kernel-vm-guest.sh RCFILE WORKDIR COMMAND [ARG…]
# Mounts the guest's own kernel file systems and a private /tmp and /run, runs COMMAND in
# WORKDIR, writes its exit code to RCFILE (on the host's file system) and powers the guest off.
rcfile="$1" workdir="$2"
shift 2
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# A private /tmp and /run (tmpfs: Unix sockets cannot live on 9p). A repository under one of
# them (a clone in /tmp) stays visible at its path: bind-mounted back from the host's copy.
for dir in /tmp /run; do
  case "$workdir/" in
    "$dir"/*)
      keep="/dev/.host${dir//\//-}"
      mkdir -p "$keep" && mount --bind "$dir" "$keep"
      mount -t tmpfs -o mode=1777 tmpfs "$dir"
      mkdir -p "$workdir" && mount --bind "$keep/${workdir#"$dir"/}" "$workdir"
      ;;
    *) mount -t tmpfs -o mode=1777 tmpfs "$dir" ;;
  esac
done
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up
# Device nodes such as /dev/net/tun appear only once their module is loaded (no udev here).
for module in tun veth bridge macvlan; do modprobe -q "$module"; done
hostname mrproxy-vm
cd "$workdir" || { echo 2 > "$rcfile"; sync; echo o > /proc/sysrq-trigger; }
"$@"
rc=$?
echo "$rc" > "$rcfile"
sync
echo o > /proc/sysrq-trigger
sleep 10

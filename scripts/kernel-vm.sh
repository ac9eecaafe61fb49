#!/usr/bin/env bash
# Runs a command where the kernel has multicast routing (CONFIG_IP_MROUTE, CONFIG_IPV6_MROUTE).
#
#   scripts/kernel-vm.sh COMMAND [ARG…]
#   scripts/kernel-vm.sh --needed       exit 0 if commands would run in the guest, 1 if here
#
# On a kernel with the mroute API the command simply runs here. On one without it (some machines
# of this kind boot a kernel built without CONFIG_IP_MROUTE: /proc/net/ip_mr_vif is missing) the
# command runs inside a throw-away QEMU guest that boots Debian's kernel (which has both) with this
# machine's root file system shared read-write over 9p, so the guest sees the same tools, the same
# repository and the same build artefacts. The guest has its own /tmp, /run, /proc and network
# namespaces; its console is this script's output and its exit code is this script's.
#
# What it installs when missing (Debian packages): qemu-system-x86, linux-image-amd64,
# busybox-static. MRPROXY_VM=never fails instead of booting a guest,
# MRPROXY_VM=always boots one even on a kernel with the mroute API. MRPROXY_VM_MEMORY (MiB,
# default 6144) and MRPROXY_VM_CPUS (default: this machine's) size the guest; MRPROXY_VM_ACCEL=kvm uses KVM
# instead of TCG where nested KVM works.
set -euo pipefail

have_mroute() { [ -e /proc/net/ip_mr_vif ] && [ -e /proc/net/ip6_mr_vif ]; }

mode="${MRPROXY_VM:-auto}"
if [ "$mode" != always ] && have_mroute; then
  [ "${1:-}" = --needed ] && exit 1
  exec "$@"
fi
[ "${1:-}" = --needed ] && exit 0
if [ "$mode" = never ]; then
  echo "kernel-vm: this kernel ($(uname -r)) has no multicast routing (CONFIG_IP_MROUTE/CONFIG_IPV6_MROUTE) and MRPROXY_VM=never" >&2
  exit 2
fi

need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || need+=(linux-image-amd64)
if [ ${#need[@]} -gt 0 ]; then
  echo "kernel-vm: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

kver=$(basename "$(ls -1 /boot/vmlinuz-*-amd64 | sort -V | tail -1)" | sed 's/^vmlinuz-//')
kernel=/boot/vmlinuz-$kver
[ -d "/lib/modules/$kver" ] || { echo "kernel-vm: /lib/modules/$kver is missing (reinstall linux-image-$kver)" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
state="$repo/target/kernel-vm"
mkdir -p "$state"
# Per run, so that two guests started from one checkout do not share them.
run=$(mktemp -d "$state/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
job="$run/job.sh"
rcfile="$run/rc"

# The initramfs: busybox, the modules that mount the host's root over virtio 9p, and an init
# that mounts it and hands over to scripts/kernel-vm-guest.sh.
initrd="$state/initrd-$kver.cpio.gz"
if [ ! -s "$initrd" ] || [ "$initrd" -ot "$0" ]; then
  tree=$(mktemp -d "$run/initrd.XXXXXX")
  mkdir -p "$tree"/{bin,dev,proc,sys,newroot,mods}
  cp /bin/busybox "$tree/bin/busybox"
  for tool in sh mount insmod switch_root cat poweroff sleep echo; do ln -s busybox "$tree/bin/$tool"; done
  for module in virtio_pci 9pnet_virtio 9p; do modprobe -S "$kver" --show-depends "$module"; done \
    | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' \
    | while read -r ko; do cp "$ko" "$tree/mods/"; basename "$ko"; done > "$tree/mods.list"
  cat > "$tree/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /mods.list); do insmod "/mods/$m" || echo "kernel-vm: insmod $m failed"; done
job=""
for word in $(cat /proc/cmdline); do
  case "$word" in mrproxy_job=*) job="${word#mrproxy_job=}" ;; esac
done
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,access=any hostroot /newroot; then
  echo "kernel-vm: cannot mount the host's root over 9p"; poweroff -f
fi
umount /proc /sys
exec switch_root /newroot /bin/bash "$job"
EOF
  chmod +x "$tree/init"
  (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
fi

# The job: the guest side (scripts/kernel-vm-guest.sh) with this environment and command.
{
  echo "#!/bin/bash"
  for var in PATH HOME USER CARGO_HOME RUSTUP_HOME CI RUST_BACKTRACE RUST_LOG TERM \
             MRPROXY_SKIP_FUZZ MRPROXY_FUZZ_SECONDS MRPROXY_BLESS; do
    if [ -n "${!var+x}" ]; then printf 'export %s=%q\n' "$var" "${!var}"; fi
  done
  printf 'exec %q %q %q' "$repo/scripts/kernel-vm-guest.sh" "$rcfile" "$PWD"
  printf ' %q' "$@"
  echo
} > "$job"
chmod +x "$job"

cpus="${MRPROXY_VM_CPUS:-$(nproc)}"
# KVM is the fast way, but this kind of machine's /dev/kvm is PVM (CONFIG_KVM_PVM, no KVM_AMD or
# KVM_INTEL), which runs only PVM-enabled guests: Debian's kernel hangs in its early setup; QEMU's multi-threaded TCG boots the guest in about 6 s and runs
# it about 16 times slower than native, which the timer-driven tests tolerate.
case "${MRPROXY_VM_ACCEL:-tcg}" in
  kvm) accel=(-enable-kvm -cpu host,-arch-capabilities) ;;
  *) accel=(-accel tcg,thread=multi -cpu max) ;;
esac
memory="${MRPROXY_VM_MEMORY:-6144}"
# One guest at a time on this machine: two emulated guests on two cores make the timing tests
# flaky. A second run waits here for the first to finish.
exec 9>"${MRPROXY_VM_LOCK:-/tmp/mrproxy-kernel-vm.lock}"
if ! flock -n 9; then
  echo "kernel-vm: another guest is running; waiting for it"
  flock 9
fi
echo "kernel-vm: $(uname -r) has no multicast routing; running in a QEMU guest with Debian's $kver ($cpus CPUs, $memory MiB)"
qemu-system-x86_64 \
  "${accel[@]}" -smp "$cpus" -m "$memory" \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off mrproxy_job=$job" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap,id=hostroot" \
  -nic none -no-reboot -display none -monitor none -serial stdio </dev/null

if [ ! -s "$rcfile" ]; then
  echo "kernel-vm: the guest stopped without an exit code (it crashed or ran out of memory)" >&2
  exit 3
fi
exit "$(cat "$rcfile")"

#!/usr/bin/env bash
# Builds the Debian package (scripts/package-deb.sh) and checks it as an administrator would use
# it (docs/packaging.md): every file is in it, dpkg installs it into a scratch root (with its own
# dpkg database) and records /etc/mrproxy.conf as a conffile, the installed binary accepts the
# installed configuration and the configuration with every commented example enabled, removal
# keeps the configuration and purge deletes it. Prints the package's and the binary's size.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/package-deb.sh
version=$(cargo pkgid --offline -p mrproxy | sed 's/.*[#@]//')
deb=target/debian/mrproxy_${version}_$(dpkg --print-architecture).deb

fail() {
  echo "check-package: $*" >&2
  exit 1
}

listing=$(dpkg-deb -c "$deb" | awk '{ print $NF }')
for f in usr/sbin/mrproxy lib/systemd/system/mrproxy.service etc/mrproxy.conf \
  usr/share/man/man8/mrproxy.8.gz usr/share/man/man5/mrproxy.conf.5.gz \
  usr/share/doc/mrproxy/copyright usr/share/doc/mrproxy/changelog.gz \
  usr/share/doc/mrproxy/examples/mrproxy.conf; do
  grep -qx "\./$f" <<<"$listing" || fail "$deb lacks /$f"
done
[ "$(dpkg-deb -f "$deb" Package)" = mrproxy ] || fail "Package is not mrproxy"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
dpkg-deb -f "$deb" Depends | grep -q '^libc6 (>= [0-9]' || fail "Depends names no libc6 version"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/mrproxy.conf ] || fail "conffiles is not /etc/mrproxy.conf"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
admin=$root/var/lib/dpkg
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers"
touch "$admin/status" "$admin/available"
# --force-script-chrootless: the scratch root has no shell to chroot into; the maintainer
# scripts then run here with DPKG_ROOT set, and must not touch this machine's systemd.
# --path-include: nothing is left out, whatever path-exclude this machine's dpkg.cfg.d has.
dpkg_root() {
  dpkg --root="$root" --log="$tmp/dpkg.log" --force-not-root --force-depends \
    --force-script-chrootless --force-unsafe-io --path-include="/*" "$@" >"$tmp/dpkg.out" 2>&1 \
    || { cat "$tmp/dpkg.out" >&2; fail "dpkg $* failed"; }
}
status() { dpkg-query --admindir="$admin" -W -f='${Status}' mrproxy 2>/dev/null || true; }

dpkg_root -i "$deb"
[ "$(status)" = "install ok installed" ] || fail "not installed: $(status)"
dpkg-query --admindir="$admin" -W -f='${Conffiles}\n' mrproxy | grep -q '^ /etc/mrproxy.conf [0-9a-f]\{32\}$' \
  || fail "dpkg did not record /etc/mrproxy.conf as a conffile"
dpkg --root="$root" --verify mrproxy || fail "installed files differ from the package's md5sums"

# The shipped configuration, checked by the shipped binary: exit 0 and OK. Interfaces this
# machine lacks (eth0, br-lan) are warnings, which do not change the status without --strict;
# any other warning fails.
check() {
  local out rc=0
  out=$("$root/usr/sbin/mrproxy" --check "$1" 2>&1 >/dev/null) || rc=$?
  printf '%s\n' "$out" | sed 's/^/  /'
  [ "$rc" = 0 ] || fail "mrproxy --check $1 exited $rc"
  grep -qx "$1: OK" <<<"$out" || fail "mrproxy --check $1 did not say OK"
  if grep '^warning:' <<<"$out" | grep -vq "interface '.*' does not exist now"; then
    fail "mrproxy --check $1 warns about more than absent interfaces"
  fi
}
check "$root/etc/mrproxy.conf"
# Every commented example enabled ("#keyword ..." lines), the chroot pointed at a directory
# that exists: the examples are valid too.
sed -e 's/^\([[:space:]]*\)#\([a-z]\)/\1\2/' -e "s|^chroot .*|chroot $tmp|" \
  "$root/etc/mrproxy.conf" >"$tmp/examples.conf"
cmp -s "$tmp/examples.conf" "$root/etc/mrproxy.conf" && fail "no commented example found"
check "$tmp/examples.conf"

deb_size=$(stat -c %s "$deb")
bin_size=$(stat -c %s "$root/usr/sbin/mrproxy")

# Removal keeps the configuration (a conffile), purge deletes it.
dpkg_root -r mrproxy
[ ! -e "$root/usr/sbin/mrproxy" ] || fail "remove left /usr/sbin/mrproxy"
[ -f "$root/etc/mrproxy.conf" ] || fail "remove deleted the conffile /etc/mrproxy.conf"
[ "$(status)" = "deinstall ok config-files" ] || fail "after remove: $(status)"
dpkg_root -P mrproxy
[ ! -e "$root/etc/mrproxy.conf" ] || fail "purge left /etc/mrproxy.conf"

echo "check-package: $deb: $deb_size bytes; installed /usr/sbin/mrproxy: $bin_size bytes"

#!/usr/bin/env bash
# Builds the Debian package of mrproxy (docs/packaging.md):
#   target/debian/mrproxy_VERSION_ARCH.deb
# with dpkg-deb alone (no cargo-deb, no debhelper, nothing downloaded). Contents:
#   /usr/sbin/mrproxy                          scripts/build-dist.sh (the dist profile)
#   /lib/systemd/system/mrproxy.service        contrib/mrproxy.service
#   /etc/mrproxy.conf                          contrib/mrproxy.conf (a conffile)
#   /usr/share/man/man8/mrproxy.8.gz           man/ (scripts/man.py, checked up to date here)
#   /usr/share/man/man5/mrproxy.conf.5.gz
#   /usr/share/doc/mrproxy/copyright           DEP-5, with LICENSE-MIT and LICENSE-APACHE
#   /usr/share/doc/mrproxy/changelog.gz
#   /usr/share/doc/mrproxy/examples/mrproxy.conf
#   /usr/share/lintian/overrides/mrproxy
# Environment: MRPROXY_DEB_MAINTAINER overrides the Maintainer field; SOURCE_DATE_EPOCH (default:
# the last commit's time) fixes the timestamps inside the package.
set -euo pipefail
cd "$(dirname "$0")/.."

# A stale page would be shipped otherwise.
python3 scripts/man.py --check

bin="$(./scripts/build-dist.sh)"

version=$(cargo pkgid --offline -p mrproxy | sed 's/.*[#@]//')
arch=$(dpkg --print-architecture)
maintainer=${MRPROXY_DEB_MAINTAINER:-The mrproxy developers <mrproxy@example.invalid>}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
out=target/debian/mrproxy_${version}_${arch}.deb
root=target/debian/root
rm -rf "$root"
mkdir -p "$root/DEBIAN"
umask 022

install -D -m 0755 "$bin" "$root/usr/sbin/mrproxy"
install -D -m 0644 contrib/mrproxy.service "$root/lib/systemd/system/mrproxy.service"
install -D -m 0644 contrib/mrproxy.conf "$root/etc/mrproxy.conf"
install -D -m 0644 contrib/mrproxy.conf "$root/usr/share/doc/mrproxy/examples/mrproxy.conf"
mkdir -p "$root/usr/share/man/man8" "$root/usr/share/man/man5"
gzip -9n <man/mrproxy.8 >"$root/usr/share/man/man8/mrproxy.8.gz"
gzip -9n <man/mrproxy.conf.5 >"$root/usr/share/man/man5/mrproxy.conf.5.gz"

doc=$root/usr/share/doc/mrproxy
# Debian changelog format, one entry for this build.
{
  echo "mrproxy ($version) unstable; urgency=medium"
  echo
  echo "  * Release $version, built from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# The crates linked into the binary (not the workspace's own), with their declared licenses.
crates=$(cargo tree --offline --locked -e normal,no-proc-macro -p mrproxy --prefix none \
  --format '{p} {l}' | sed -e 's/ (\*)$//' -e 's/ ([^)]*)\( \|$\)/\1/' | grep -v '^mrproxy' | sort -u)
if echo "$crates" | grep -v ' .*MIT'; then
  echo "package-deb: the crates above are not available under MIT: extend the copyright file" >&2
  exit 1
fi

# A license text as a DEP-5 paragraph continuation: each line indented, blank lines as " .".
indent() { sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$1"; }
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: mrproxy"
  echo "Source: $(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml)"
  echo
  echo "Files: *"
  echo "Copyright: 2026 The mrproxy developers"
  echo "License: MIT or Apache-2.0"
  echo "Comment: Licensed under either of the MIT license or the Apache License 2.0, at your"
  echo " option (Cargo: MIT OR Apache-2.0). /usr/sbin/mrproxy also contains these Rust crates,"
  echo " statically linked; every one of them may be used under the MIT license (name, version,"
  echo " license as each declares it):"
  echo "$crates" | sed 's/^/ /'
  echo
  echo "License: MIT"
  indent LICENSE-MIT
  echo
  echo "License: Apache-2.0"
  indent LICENSE-APACHE
} >"$doc/copyright"
chmod 0644 "$doc/copyright"

# The license texts are shipped in full, as LICENSE-MIT and LICENSE-APACHE are in the source,
# rather than as a reference to Debian's /usr/share/common-licenses.
install -d "$root/usr/share/lintian/overrides"
cat >"$root/usr/share/lintian/overrides/mrproxy" <<'EOF'
mrproxy: copyright-file-contains-full-apache-2-license
mrproxy: copyright-not-using-common-license-for-apache2
EOF
chmod 0644 "$root/usr/share/lintian/overrides/mrproxy"

# Depends: from the binary's shared libraries and symbol versions.
depends=
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
  # dpkg-shlibdeps wants to run in a source tree: give it an empty one.
  shl=$(mktemp -d)
  mkdir "$shl/debian" && touch "$shl/debian/control"
  depends=$(cd "$shl" && dpkg-shlibdeps -O "$OLDPWD/$root/usr/sbin/mrproxy" | sed -n 's/^shlibs:Depends=//p')
  rm -rf "$shl"
fi
if [ -z "$depends" ]; then
  # Without dpkg-dev: libc6 at least the highest GLIBC_x.y symbol version the binary needs, and
  # the unwinder's library when it is linked.
  glibc=$(grep -ao 'GLIBC_[0-9][0-9.]*' "$bin" | sed 's/GLIBC_//' | sort -uV | tail -n1)
  if [ -z "$glibc" ]; then echo "package-deb: no GLIBC symbol version in $bin" >&2; exit 1; fi
  depends="libc6 (>= $glibc)"
  if grep -aq 'libgcc_s\.so\.1' "$bin"; then depends="$depends, libgcc-s1"; fi
fi

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: mrproxy
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Description: IGMP/MLD multicast routing proxy (igmpproxy replacement)
 mrproxy forwards multicast streams (IPTV and others) from upstream interfaces
 to the downstream LANs whose hosts ask for them, as an IGMPv1-3 and MLDv1-2
 proxy (RFC 4605). It reads igmpproxy's configuration language unchanged,
 adds IPv6 and extension keywords, and runs without capabilities once started.
 .
 The package can be installed next to igmpproxy, but only one of them can run
 at a time: the kernel allows a single multicast routing daemon. The service is
 not enabled at installation: edit /etc/mrproxy.conf, then
 "systemctl enable --now mrproxy".
EOF

echo /etc/mrproxy.conf >"$root/DEBIAN/conffiles"
# Checksums of everything but the conffiles (dpkg keeps theirs in its database).
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' \
  | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"

# Maintainer scripts. The service is neither enabled nor started here (only one multicast router
# may run: it would fail next to a running igmpproxy). systemd is only asked to do anything when
# it is the running init and the package is not being installed into another root ($DPKG_ROOT);
# services are stopped and restarted through deb-systemd-invoke (init-system-helpers, essential
# in Debian), which honours policy-rc.d.
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
  # An upgrade restarts a running daemon with the new binary (deb-systemd-invoke, from the
  # essential init-system-helpers, honours policy-rc.d).
  if [ -n "$2" ]; then
    if command -v deb-systemd-invoke >/dev/null; then
      deb-systemd-invoke try-restart mrproxy.service || true
    fi
  fi
fi
exit 0
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  if command -v deb-systemd-invoke >/dev/null; then
    deb-systemd-invoke stop mrproxy.service || true
  fi
fi
exit 0
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  # What "systemctl enable mrproxy" made, now that the unit is gone.
  rm -f "${DPKG_ROOT:-}/etc/systemd/system/multi-user.target.wants/mrproxy.service"
fi
if { [ "$1" = remove ] || [ "$1" = purge ]; } && [ -z "${DPKG_ROOT:-}" ] \
   && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

# Files are owned by root whoever builds; the timestamps are SOURCE_DATE_EPOCH's.
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --build --root-owner-group -Zxz "$root" "$out" >/dev/null
echo "package-deb: $out ($(stat -c %s "$out") bytes)"

if command -v lintian >/dev/null 2>&1; then
  lintian --info "$out" || echo "package-deb: lintian reported problems (see above)"
fi

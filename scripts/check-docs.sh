#!/usr/bin/env bash
# Checks what ships beside the binary (docs/packaging.md):
#   - man/*.8 and man/*.5 are what scripts/man.py makes of docs/*.md;
#   - both pages format without a single groff warning and render with man(1), with their headings
#     and a NAME line that whatis(1) can index;
#   - contrib/mrproxy.service keeps its sandboxing: `systemd-analyze security` exposure <= 3.0.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 scripts/man.py --check
echo "check-docs: man/ is up to date with docs/"

for page in man/mrproxy.8 man/mrproxy.conf.5; do
  # -k: the pages are UTF-8 (preconv); -ww: every warning; -z: no output but the warnings.
  warnings=$(groff -k -man -Tutf8 -ww -z "$page" 2>&1)
  if [ -n "$warnings" ]; then
    printf '%s\n' "$warnings" >&2
    echo "check-docs: $page: groff warnings (fix docs/*.md or scripts/man.py)" >&2
    exit 1
  fi
  # The NAME line as whatis(1) and apropos(1) index it ("name - description").
  lexgrog "$page" >/dev/null || {
    echo "check-docs: $page: lexgrog cannot read its NAME section (whatis, apropos)" >&2
    exit 1
  }
  rendered=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1)
  for heading in NAME SYNOPSIS DESCRIPTION EXAMPLES 'SEE ALSO'; do
    if ! grep -qx "$heading" <<<"$rendered"; then
      echo "check-docs: $page: 'man -l' shows no $heading section" >&2
      exit 1
    fi
  done
  # A macro that man(7) does not know would show up as text, or as a line of roff.
  if grep -nE '^[[:space:]]*\.[A-Za-z]{1,2}( |$)' <<<"$rendered" >&2; then
    echo "check-docs: $page: roff requests leak into the rendered page (above)" >&2
    exit 1
  fi
  echo "check-docs: $page renders without warnings ($(wc -l <<<"$rendered") lines)"
done

# The unit's exposure score (0 = fully sandboxed, 10 = not at all). --offline works on the file
# alone (systemd >= 250); the score of the shipped unit is 2.0 (contrib/mrproxy.service).
max=3.0
unit=contrib/mrproxy.service
report=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || {
  printf '%s\n' "$report" >&2
  echo "check-docs: systemd-analyze security failed on $unit" >&2
  exit 1
}
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' <<<"$report")
if [ -z "$score" ]; then
  printf '%s\n' "$report" >&2
  echo "check-docs: no exposure level in the output of systemd-analyze security" >&2
  exit 1
fi
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
  grep -E '^✗' <<<"$report" >&2 || true
  echo "check-docs: $unit: exposure $score > $max (systemd-analyze security)" >&2
  exit 1
fi
echo "check-docs: $unit: exposure $score (at most $max)"

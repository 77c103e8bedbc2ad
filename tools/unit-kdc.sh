#!/bin/sh
# Runs the GSSAPI unit test's KDC suite (tests/unit/test-gssapi.c) against
# a throwaway MIT KDC from the workplace's start-kdc script, then stops
# it.  Used by `make check`; fails if the script or the KDC is missing.
set -e
test_bin=$1
top=$(cd "$(dirname "$0")/.." && pwd)
scripts="$top/../shared/scripts"
[ -x "$scripts/start-kdc" ] || scripts=/work/shared/scripts
if [ ! -x "$scripts/start-kdc" ]; then
	echo "unit-kdc: start-kdc not found (../shared/scripts)" >&2
	exit 1
fi
dir=$(mktemp -d /tmp/casella-kdc-unit.XXXXXX)
trap '"$scripts/stop-kdc" "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
eval "$("$scripts/start-kdc" "$dir")"
echo "$KDC_USER_PASS" | kinit "$KDC_USER" >/dev/null
CASELLA_TEST_KDC_DIR=$dir "$test_bin"

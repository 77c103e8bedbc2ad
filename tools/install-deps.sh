#!/bin/sh
# Installs the Debian packages named as arguments that are not installed
# yet.  Runs apt-get update once, only when something is missing.
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing (run as root or install them)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq &&
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing >/dev/null

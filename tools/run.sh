#!/bin/sh
# `make run`: serves IMAP on 127.0.0.1:1143 from ./run-data, creating it
# with a demo user and a generated password the first time.
set -e
data=${CASELLA_DATA:-run-data}
port=${CASELLA_PORT:-1143}
if [ ! -f "$data/casella.db" ]; then
	mkdir -p "$data"
	password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
	printf '%s\n' "$password" | build/casella --data "$data" user add demo
	printf '%s\n' "$password" > "$data/demo-password"
	chmod 600 "$data/demo-password"
	echo "Created user 'demo' with password: $password"
	echo "(saved in $data/demo-password)"
fi
echo "Casella serving IMAP on 127.0.0.1:$port, data in $data"
echo "Try: curl -u demo:\$(cat $data/demo-password) imap://127.0.0.1:$port/INBOX"
echo "Stop with Ctrl-C."
exec build/casellad --data "$data" --listen "127.0.0.1:$port"

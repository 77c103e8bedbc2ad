#!/bin/sh
# `make run`: serves IMAP on 127.0.0.1:1143 (STARTTLS) and 127.0.0.1:1993
# (implicit TLS, as port 993 would), and LMTP on 127.0.0.1:2424, from
# ./run-data, creating it with a
# demo user and a generated password, and a self-signed certificate for
# localhost in ./run-tls, the first time.
set -e
data=${CASELLA_DATA:-run-data}
tls=${CASELLA_TLS_DIR:-run-tls}
port=${CASELLA_PORT:-1143}
tls_port=${CASELLA_TLS_PORT:-1993}
lmtp_port=${CASELLA_LMTP_PORT:-2424}
if [ ! -f "$data/casella.db" ]; then
	mkdir -p "$data"
	password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 16)
	printf '%s\n' "$password" | build/casella --data "$data" user add demo
	printf '%s\n' "$password" > "$data/demo-password"
	chmod 600 "$data/demo-password"
	echo "Created user 'demo' with password: $password"
fi
if [ ! -f "$tls/cert.pem" ]; then
	mkdir -p "$tls"
	chmod 700 "$tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 825 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
	echo "Created a self-signed certificate for localhost in $tls/cert.pem"
fi
# casellad makes the data directory its own; read the password from it
# as whoever we are now (root, as the Makefile runs us).
password=$(cat "$data/demo-password" 2>/dev/null || echo '(see run-data/demo-password)')
echo "Casella serving IMAP on 127.0.0.1:$port (STARTTLS) and 127.0.0.1:$tls_port (TLS), data in $data"
echo "Log in as demo / $password, for instance:"
echo "  curl --cacert $tls/cert.pem -u demo:$password imaps://localhost:$tls_port/INBOX"
echo "  curl --ssl-reqd --cacert $tls/cert.pem -u demo:$password imap://localhost:$port/INBOX"
echo "Deliver over LMTP on 127.0.0.1:$lmtp_port, for instance:"
echo "  swaks --protocol LMTP --server 127.0.0.1:$lmtp_port --to demo"
echo "Stop with Ctrl-C."
exec build/casellad --data "$data" --listen "127.0.0.1:$port" \
	--tls-listen "127.0.0.1:$tls_port" --tls-cert "$tls/cert.pem" \
	--tls-key "$tls/key.pem" --lmtp-listen "127.0.0.1:$lmtp_port"

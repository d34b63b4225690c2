#!/usr/bin/env bash
# Creates a throwaway PKI for TLS tests in OUTDIR:
#   ca.crt/ca.key             test CA
#   server.crt/server.key     leaf for localhost + 127.0.0.1 + ::1, signed by the CA
#   wronghost.crt/.key        leaf for wrong.example only, signed by the CA
#   other-ca.crt/.key         an unrelated CA (for "untrusted" tests)
#   other-server.crt/.key     leaf for localhost signed by the unrelated CA
# Idempotent: does nothing if OUTDIR/server.crt already exists.
set -euo pipefail
out=${1:?usage: make-test-pki.sh OUTDIR}
mkdir -p "$out"
[[ -f "$out/server.crt" ]] && exit 0
cd "$out"

make_ca() { # name
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.crt" 2>/dev/null
}
make_leaf() { # name ca san
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 3650 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

make_ca ca
make_ca other-ca
make_leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1"
make_leaf wronghost ca "DNS:wrong.example"
make_leaf other-server other-ca "DNS:localhost,IP:127.0.0.1"
chmod 600 ./*.key

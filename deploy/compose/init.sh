#!/usr/bin/env bash
# Prepares the compose quick start (deploy/docker-compose.yml) on the Docker host:
#   compose/secrets/   (0700) random keys and passwords, a private CA, TLS certificates for
#                      control-plane and minio, and control-plane.yaml rendered from the template
#   compose/.env       the agent's environment, from .env.example, with a fresh agent key
#   deploy/.env        DOCKER_GID: the group owning /var/run/docker.sock (for group_add)
# Idempotent: existing files are kept, so re-running never rotates a key under a running stack.
# Secret files are 0644 inside the 0700 directory: compose bind-mounts each file into its
# container, where the services run as other uids (the agent and control plane as 1000), and
# the host's directory mode still keeps other host users out.
#
#   bash compose/init.sh [SECRETS_DIR]   (SECRETS_DIR defaults to compose/secrets; tests use it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secrets=${1:-$here/secrets}
mkdir -p "$secrets"
chmod 700 "$secrets"
umask 022

random_hex() { openssl rand -hex 32; }
keep_or_write() { # file command...: writes the command's output unless the file exists
  local file=$1
  shift
  [[ -s $file ]] || "$@" >"$file"
}
sha256_of() { printf %s "$(cat "$1")" | sha256sum | cut -d' ' -f1; }

keep_or_write "$secrets/agent.key" random_hex
keep_or_write "$secrets/admin-token" random_hex
keep_or_write "$secrets/master.key" random_hex
keep_or_write "$secrets/token-signing.key" random_hex
keep_or_write "$secrets/minio-root-password" random_hex
keep_or_write "$secrets/postgres-password" random_hex

# A private CA and one leaf per TLS server, named by its compose service name.
if [[ ! -s $secrets/ca.crt ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=backupy compose CA" -keyout "$secrets/ca.key" -out "$secrets/ca.crt" 2>/dev/null
fi
make_leaf() { # name san
  [[ -s $secrets/$1.crt ]] && return 0
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$secrets/$1.key" -out "$secrets/$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$2" \
    >"$secrets/$1.ext"
  openssl x509 -req -in "$secrets/$1.csr" -CA "$secrets/ca.crt" -CAkey "$secrets/ca.key" \
    -CAcreateserial -days 825 -extfile "$secrets/$1.ext" -out "$secrets/$1.crt" 2>/dev/null
  rm -f "$secrets/$1.csr" "$secrets/$1.ext"
}
make_leaf control-plane "DNS:control-plane,DNS:localhost,IP:127.0.0.1"
make_leaf minio "DNS:minio,DNS:localhost,IP:127.0.0.1"
chmod 644 "$secrets"/*
chmod 600 "$secrets/ca.key"  # signs certificates; no container needs it

# The rendered configuration: the key hashes and the database password filled in.
zero=$(printf '0%.0s' {1..64})
sed -e "s/key_sha256: \"$zero\"/key_sha256: \"$(sha256_of "$secrets/agent.key")\"/" \
  -e "s/- \"$zero\"/- \"$(sha256_of "$secrets/admin-token")\"/" \
  -e "s/@POSTGRES_PASSWORD@/$(cat "$secrets/postgres-password")/" \
  "$here/control-plane.yaml" >"$secrets/control-plane.yaml"

if [[ ! -s $here/.env ]]; then
  sed "s/^BACKUPY_AGENT_KEY=.*/BACKUPY_AGENT_KEY=$(cat "$secrets/agent.key")/" \
    "$here/.env.example" >"$here/.env"
  chmod 600 "$here/.env"
fi
if [[ -z ${1:-} && ! -s $here/../.env && -S /var/run/docker.sock ]]; then
  echo "DOCKER_GID=$(stat -c %g /var/run/docker.sock)" >"$here/../.env"
fi
echo "init: secrets in $secrets; operator token: $secrets/admin-token, CA: $secrets/ca.crt"

#!/bin/sh
# Writes the secrets docker-compose.yml mounts (one file each, random values) and points Compose
# at them: SECRETS_DIR in .env beside docker-compose.yml.
#
#   scripts/compose-secrets.sh [--no-env] [DIR]     # DIR: default ./secrets (git-ignored)
#
# --no-env leaves .env alone (set SECRETS_DIR yourself).
# Existing files are kept: a new database password would not match the PostgreSQL volume, and a
# new signing-key encryption key could not decrypt the keys identity stored. Delete a file (and
# the volume it belongs to, for the database password) to replace it. metrics_credential is
# derived from service_secret and rewritten every time.
#
# The directory is private (0700) on this host; the files in it are 0644 because Compose mounts
# them into the containers as they are (outside Swarm it ignores uid/gid/mode), and each image
# reads them as its own user (node, postgres, nobody for Prometheus, grafana).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
env_file="$root/.env"
if [ "${1:-}" = --no-env ]; then
  env_file=
  shift
fi
dir=${1:-"$root/secrets"}

command -v openssl >/dev/null 2>&1 || {
  echo "compose-secrets: openssl is needed (apt-get install openssl)" >&2
  exit 1
}

umask 077
mkdir -p "$dir"
chmod 700 "$dir"
dir=$(cd "$dir" && pwd)

# Random text of URL-safe characters: safe inside a URL, a YAML value or a shell word.
random() { openssl rand -base64 "$1" | tr -d '\n=' | tr '+/' '-_'; }

# write NAME VALUE: only when the file is absent.
write() {
  if [ -s "$dir/$1" ]; then
    echo "kept    $dir/$1"
  else
    printf '%s' "$2" > "$dir/$1"
    chmod 644 "$dir/$1"
    echo "created $dir/$1"
  fi
}

write postgres_password "$(random 24)"
# The user, database and host are docker-compose.yml's (POSTGRES_USER/POSTGRES_DB, service postgres).
write database_url "postgres://platform:$(cat "$dir/postgres_password")@postgres:5432/platform"
write service_secret "$(random 48)"
write seed_admin_password "$(random 18)"
write signing_key_encryption_key "$(openssl rand -base64 32 | tr -d '\n')"
write grafana_admin_password "$(random 18)"

# What services present to each other and Prometheus presents as its bearer token for /metrics:
# HMAC-SHA256 of a fixed label under the service secret, base64url (`platformctl service-credential`
# prints the same; kernel/src/security/service-credential.ts).
printf '%s' 'platform service credential v1' \
  | openssl dgst -sha256 -hmac "$(cat "$dir/service_secret")" -binary \
  | openssl base64 -A | tr -d '=' | tr '+/' '-_' > "$dir/metrics_credential"
chmod 644 "$dir/metrics_credential"
echo "wrote   $dir/metrics_credential"

echo "The administrator is ${SEED_ADMIN_EMAIL:-admin@example.com} (SEED_ADMIN_EMAIL), password in $dir/seed_admin_password."

# Compose reads .env beside docker-compose.yml for ${SECRETS_DIR}.
[ -n "$env_file" ] || exit 0
case "$dir" in
  "$root"/*) value="./${dir#"$root"/}" ;;
  *) value=$dir ;;
esac
if [ -f "$env_file" ] && grep -q '^SECRETS_DIR=' "$env_file"; then
  echo "kept    SECRETS_DIR in $env_file ($(grep '^SECRETS_DIR=' "$env_file" | head -n 1))"
else
  # A last line without its newline would swallow ours.
  if [ -s "$env_file" ] && [ -n "$(tail -c 1 "$env_file")" ]; then echo >> "$env_file"; fi
  printf 'SECRETS_DIR=%s\n' "$value" >> "$env_file"
  echo "set     SECRETS_DIR=$value in $env_file"
fi

#!/bin/sh
# secrets-env NAME... -- COMMAND [ARG...]
# Runs COMMAND with each NAME set from the file NAME_FILE names (a compose secret), for a program that reads
# a secret only from its environment (HiveServer2's hive-site.xml: ${env.HIVE_METASTORE_DB_PASSWORD}). The
# value lives in that process's environment only: `docker inspect` shows the file's path, not the secret.
set -eu
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  name="$1"; shift
  eval "file=\${${name}_FILE:?secrets-env: ${name}_FILE is not set}"
  [ -r "$file" ] || { echo "secrets-env: cannot read $file (${name}_FILE); run python3 docker/generate-secrets.py" >&2; exit 1; }
  value="$(cat "$file")"
  export "$name=$value"
done
[ "${1:-}" = "--" ] || { echo "usage: secrets-env NAME... -- COMMAND [ARG...]" >&2; exit 2; }
shift
exec "$@"

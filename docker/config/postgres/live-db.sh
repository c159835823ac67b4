#!/bin/bash
# The Live page's store on the metastore's PostgreSQL server: role `live`, its own database `live`
# (clickstream/streaming/live_store.py creates its table), the role's password from the secret file
# LIVE_DB_PASSWORD_FILE names. Run by the postgres image at the first start of an empty volume; on a volume
# from before, once by hand:
#   docker compose exec metastore-db bash /docker-entrypoint-initdb.d/live-db.sh
set -euo pipefail
: "${LIVE_DB_PASSWORD_FILE:?LIVE_DB_PASSWORD_FILE is not set: docker-compose.yml names the secret live_db_password}"
password="$(cat "${LIVE_DB_PASSWORD_FILE}")"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
     -v password="${password}" <<'SQL'
SELECT format('CREATE ROLE live LOGIN PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'live') \gexec
SELECT 'CREATE DATABASE live OWNER live'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'live') \gexec
SQL

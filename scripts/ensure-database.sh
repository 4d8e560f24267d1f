#!/usr/bin/env bash
# Make sure the role and database named by a PostgreSQL URL exist, and that the role may
# create databases (pytest-django creates one test database per xdist worker).
# Idempotent. Connects as a superuser over TCP (trust authentication on this machine).
#
#   scripts/ensure-database.sh postgres://USER[:PASSWORD]@HOST[:PORT]/NAME
#
# PGSUPERUSER (default postgres) is the role used to create the others.
set -euo pipefail

url=${1:?usage: ensure-database.sh DATABASE_URL}
case $url in
    postgres://* | postgresql://*) ;;
    *)
        echo "ensure-database: $url is not a PostgreSQL URL; nothing to do" >&2
        exit 0
        ;;
esac

# Split the URL with Python's parser rather than by hand (passwords may hold any character).
read -r host port role password dbname < <(python3 - "$url" <<'PY'
import sys
from urllib.parse import unquote, urlsplit

u = urlsplit(sys.argv[1])
fields = [u.hostname or "127.0.0.1", str(u.port or 5432), unquote(u.username or "postgres"),
          unquote(u.password or "") or "-", unquote(u.path.lstrip("/")) or "postgres"]
print(" ".join(fields))
PY
)

superuser=${PGSUPERUSER:-postgres}
# psql quotes the values itself (:'var'), and format(%I/%L) quotes identifiers/literals.
psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$superuser" -d postgres \
    -v role="$role" -v password="$password" -v dbname="$dbname" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password')
 WHERE :'password' <> '-' \gexec
SELECT format('ALTER ROLE %I CREATEDB', :'role')
  FROM pg_roles WHERE rolname = :'role' AND NOT (rolcreatedb OR rolsuper) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') \gexec
SQL
echo "ensure-database: role $role and database $dbname ready on $host:$port" >&2

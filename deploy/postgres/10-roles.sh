#!/bin/sh
# Runs once, when the PostgreSQL container starts with an empty data directory
# (/docker-entrypoint-initdb.d). Creates the database and the three roles that use it:
#   - the owner (OWNER_DB_USER): owns the database and every table; `manage.py migrate` runs as it.
#   - the app (APP_DB_USER): what web, worker and beat connect as. Rows only (granted by migrate),
#     no table of its own, neither superuser nor BYPASSRLS: row-level security holds it to one clinic
#     per transaction and nothing it can run turns that off.
#   - the platform (PLATFORM_DB_USER): BYPASSRLS, rows only; Django admin reads across clinics as it.
# The superuser is used for this only.
: "${APP_DB_NAME:?APP_DB_NAME is not set}"
: "${OWNER_DB_USER:?OWNER_DB_USER is not set}"
: "${OWNER_DB_PASSWORD:?OWNER_DB_PASSWORD is not set}"
: "${APP_DB_USER:?APP_DB_USER is not set}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD is not set}"
: "${PLATFORM_DB_USER:?PLATFORM_DB_USER is not set}"
: "${PLATFORM_DB_PASSWORD:?PLATFORM_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v db="$APP_DB_NAME" \
  -v owner="$OWNER_DB_USER" -v owner_password="$OWNER_DB_PASSWORD" \
  -v app="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" \
  -v platform="$PLATFORM_DB_USER" -v platform_password="$PLATFORM_DB_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE ROLE :"platform" LOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'platform_password';
-- PostgreSQL 15 gives the public schema to the database owner: only the owner creates tables there.
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app", :"platform";
SQL

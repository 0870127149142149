#!/bin/sh
# Runs once, when the PostgreSQL container starts with an empty data directory
# (/docker-entrypoint-initdb.d). Creates the role the app connects as and its database.
# The role is neither a superuser nor BYPASSRLS, so the row-level security policies that the
# migrations create apply to every query the app makes. The superuser is used for this only.
: "${APP_DB_USER:?APP_DB_USER is not set}"
: "${APP_DB_NAME:?APP_DB_NAME is not set}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
-- As the owner the role can run migrations (tables, RLS policies); PostgreSQL 15 gives the
-- public schema to the database owner.
CREATE DATABASE :"app_db" OWNER :"app_user";
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL

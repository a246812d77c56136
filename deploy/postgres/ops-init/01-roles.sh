#!/bin/sh
# First start of the ops database server (docker-entrypoint-initdb.d; runs once, on an empty
# data directory). The superuser from POSTGRES_USER is for bootstrap only. Roles:
#   ops_migrator  owns the ops and ops_smoke (the smoke suite's scratch) databases and every object the migrations create;
#                 may create roles, so `db grant-app-role` can create the application role.
#   ops_app       the application's login (jobs, DAG tasks, metrics): created and granted
#                 exactly SELECT/INSERT/UPDATE (no DELETE, TRUNCATE, ALTER, DROP) by
#                 `python -m ops_domain db grant-app-role` in the ops-migrate service.
#   ops_sealer    seals the audit log (reads audit_log, appends to audit_chain): created and
#                 granted by `db grant-sealer-role` in the ops-migrate service.
#   ops_auditor   owns ops_audit, where each seal's head is published; it may not open ops,
#                 and the ops logins may not open ops_audit.
# CONNECT is revoked from PUBLIC, so no other login can open these databases.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v migrator_password="$OPS_MIGRATOR_PASSWORD" \
     -v auditor_password="$OPS_AUDITOR_PASSWORD" <<'SQL'
CREATE ROLE ops_migrator LOGIN CREATEROLE PASSWORD :'migrator_password';
CREATE ROLE ops_auditor LOGIN PASSWORD :'auditor_password';
ALTER DATABASE ops OWNER TO ops_migrator;
CREATE DATABASE ops_audit OWNER ops_auditor;
CREATE DATABASE ops_smoke OWNER ops_migrator;
REVOKE ALL ON DATABASE ops FROM PUBLIC;
REVOKE ALL ON DATABASE ops_audit FROM PUBLIC;
REVOKE ALL ON DATABASE ops_smoke FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE ops TO ops_migrator;
GRANT CONNECT, TEMPORARY ON DATABASE ops_audit TO ops_auditor;
GRANT CONNECT, TEMPORARY ON DATABASE ops_smoke TO ops_migrator;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname ops <<'SQL'
ALTER SCHEMA public OWNER TO ops_migrator;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

#!/usr/bin/env bash
# Starts the built server for the browser tests on a fresh SQLite database, with an admin,
# a targetologist and a little demo data. /target's fallback refresh is set to ten minutes:
# what the tests see change arrives over the live stream.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${E2E_SERVER_BIN:-target/release/server}"
state_dir=$(mktemp -d)
export DATABASE_URL="sqlite://$state_dir/e2e.db?mode=rwc"
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_ADDR="127.0.0.1:${E2E_PORT:-3100}"
export LEADS_REFRESH_SECS=600
# Test-only webhook secrets: the browser tests post signed provider reports.
export RESEND_WEBHOOK_SECRET="whsec_ZTJlLXJlc2VuZC13ZWJob29rLXNlY3JldA=="
export MOBIZON_WEBHOOK_SECRET="e2e-mobizon-secret"
# AmoCRM points at a port where the sync test runs its own stand-in while it needs one.
export AMOCRM_BASE_URL="http://127.0.0.1:${E2E_AMOCRM_PORT:-3199}"
export AMOCRM_ACCESS_TOKEN="e2e-amocrm-token"
# The live test posts won deals to the webhook routes.
export AMOCRM_WEBHOOK_SECRET="e2e-amocrm-hook-secret"
export RUST_LOG="${RUST_LOG:-warn}"

"$server" migrate
printf 'e2e-admin-password\n' | "$server" user add --login e2e-admin --role admin
printf 'e2e-buyer-password\n' | "$server" user add --login e2e-buyer --role targetologist --team Kenesary
"$server" demo-data --leads 140 --days 3 --seed 11
exec "$server"

#!/usr/bin/env bash
# schemathesis with every check over the whole OpenAPI schema, against a live server (gunicorn,
# DEBUG=0) on PostgreSQL with seed_demo's data, as op-alpha. Bounded: a fixed seed, deterministic
# generation, SCHEMATHESIS_MAX_EXAMPLES examples per operation and phase (default 20).
# Usage: DATABASE_URL=postgres://… .ci/schemathesis.sh   (the database is migrated and seeded)
#
# Known gaps (why it is not yet in .ci/run): DELETE /auth/token revokes op-alpha's only token mid-run
# (one token per user until named tokens land), so later operations see 401; multipart bodies the
# schema allows empty are refused (400); `?page=` is not validated; schemathesis 4.32.5's coverage
# phase raises a SystemError (AST recursion) on some operations.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
ST=${ST:-$(dirname "$PY")/st}
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database}"
SEED=${SCHEMATHESIS_SEED:-20261}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-20}
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DEBUG=0 SECRET_KEY="schemathesis-$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n')" \
  ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 \
  CELERY_BROKER_URL= EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend \
  THROTTLE_SIMULATE=100000/min THROTTLE_TOKEN=100000/min THROTTLE_INVITATION=100000/min \
  MEDIA_ROOT="$(mktemp -d)" STATIC_ROOT="$(mktemp -d)"

"$PY" manage.py migrate --noinput >/dev/null
"$PY" manage.py seed_demo >/dev/null
TOKEN=$("$PY" manage.py shell -c '
from rest_framework.authtoken.models import Token
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="op-alpha")
Token.objects.filter(user=user).delete()
print(Token.objects.create(user=user).key)' | tail -n 1)

"$PY" -m gunicorn config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --timeout 30 \
  --log-level warning &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done

started=$(date +%s)
"$ST" run "http://127.0.0.1:$PORT/api/schema/?format=json" \
  --url "http://127.0.0.1:$PORT" \
  --checks all --phases examples,coverage,fuzzing \
  --seed "$SEED" --generation-deterministic --max-examples "$MAX_EXAMPLES" \
  --header "Authorization: Token $TOKEN" \
  --workers 2 --request-timeout 10 --no-color "$@"
echo "schemathesis: $(( $(date +%s) - started )) s (seed $SEED, max examples $MAX_EXAMPLES)"

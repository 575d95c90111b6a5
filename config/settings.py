"""Settings read from the environment (django-environ).

With no environment at all the app runs on a local SQLite file with Celery
tasks executed eagerly, so `make run` works on a bare machine. Production
behaviour is switched by variables, never by a separate settings file.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` file is optional and never committed.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _secret(name, default=environ.Env.NOTSET):
    """Read a secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    file_var = f"{name}_FILE"
    if env.str(file_var, default=""):
        return Path(env.str(file_var)).read_text().strip()
    return env.str(name, default=default)


# The embedded default is a developer machine; production sets DEBUG=0 and SECRET_KEY.
DEBUG = env.bool("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = _secret("SECRET_KEY", default="dev-only-insecure-key-never-in-production")
else:
    SECRET_KEY = _secret("SECRET_KEY", default="")
    if not SECRET_KEY:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY est obligatoire quand DEBUG est désactivé.")

# Former keys, still accepted (sessions, password-reset links, sealed webhook secrets) after a
# rotation: comma-separated, or one per line in the file named by SECRET_KEY_FALLBACKS_FILE.
SECRET_KEY_FALLBACKS = [
    key.strip() for key in _secret("SECRET_KEY_FALLBACKS", default="").replace("\n", ",").split(",") if key.strip()
]

# Audit journal (docs/operations.md, "Audit journal"): chain hashes and checkpoints are HMAC-SHA256 under
# a key kept outside the database and distinct from SECRET_KEY, named by AUDIT_KEY_ID (stored on
# each event). After a rotation, former keys stay in AUDIT_KEYS ("id:key" comma-separated, or one
# per line in AUDIT_KEYS_FILE) so older events still verify.
if DEBUG:
    AUDIT_KEY = _secret("AUDIT_KEY", default="dev-only-audit-key-never-in-production")
    AUDIT_KEY_ID = env.str("AUDIT_KEY_ID", default="dev")
else:
    AUDIT_KEY = _secret("AUDIT_KEY", default="")
    AUDIT_KEY_ID = env.str("AUDIT_KEY_ID", default="1")
    if not AUDIT_KEY:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("AUDIT_KEY est obligatoire quand DEBUG est désactivé (clé du journal d'audit).")
AUDIT_KEYS = dict(
    entry.strip().split(":", 1)
    for entry in _secret("AUDIT_KEYS", default="").replace("\n", ",").split(",")
    if entry.strip()
)
if AUDIT_KEY in {SECRET_KEY, *SECRET_KEY_FALLBACKS}:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("AUDIT_KEY doit être distincte de SECRET_KEY.")
# anchor_audit: where checkpoints are also written as files (empty: database only), and the RFC 3161
# time-stamp authority that stamps them (empty: none), with the CA certificate (PEM) that verifies it.
AUDIT_CHECKPOINT_DIR = env.str("AUDIT_CHECKPOINT_DIR", default="")
AUDIT_TSA_URL = env.str("AUDIT_TSA_URL", default="")
AUDIT_TSA_CA_FILE = env.str("AUDIT_TSA_CA_FILE", default="")
AUDIT_TSA_TIMEOUT_SECONDS = env.int("AUDIT_TSA_TIMEOUT_SECONDS", default=10)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (no CDN, CSP 'self')
    "csp",
    # Operators' portal: the French State design system (static assets shipped with the package)
    # and login throttling.
    "dsfr",
    "axes",
    "common",
    "operators",
    "funding",
    "claims",
    "portal",
    # Demo data for `make run` (seed_demo): above every app, nothing imports it.
    "demo",
]

MIDDLEWARE = [
    # First: a request id for every request and its log lines (X-Request-ID), and its metrics.
    "common.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files served by the app itself (README "Déploiement"), after SecurityMiddleware's headers.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A lost database answers 503 (JSON on the API), never a 500 with a traceback.
    "common.middleware.DatabaseUnavailableMiddleware",
    # A NUL in an API query parameter is a 400 field error, never a database error.
    "common.middleware.ApiQueryStringMiddleware",
    # A download of a proof being scanned or quarantined: a French 409 page (JSON on the API).
    "common.middleware.DocumentUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a locked-out login into the French lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "operators.proconnect.context",
                "common.context_processors.legal",
                "common.context_processors.antivirus",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Embedded default: a SQLite file in the project folder.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# A slow or hung database must answer 503 well before the web worker is killed (gunicorn's
# --timeout, 30 s by default): the server gives up a statement after DATABASE_STATEMENT_TIMEOUT,
# the client gives up waiting a little later (common.postgresql), a reused connection is checked
# within DATABASE_HEALTH_CHECK_TIMEOUT, a new one within DATABASE_CONNECT_TIMEOUT, and TCP
# keepalives notice a peer gone silent. 0 turns a timeout off (e.g. a long one-off migration).
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=20)
DATABASE_CLIENT_TIMEOUT = DATABASE_STATEMENT_TIMEOUT + 5 if DATABASE_STATEMENT_TIMEOUT else 0
DATABASE_HEALTH_CHECK_TIMEOUT = env.float("DATABASE_HEALTH_CHECK_TIMEOUT", default=1)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "common.postgresql"  # Django's, with a client-side deadline
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=3),
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 15_000,  # ms: data sent and not acknowledged (a dead network)
            "options": f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT * 1000}",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Login throttling first (django-axes), then the ordinary user/password check.
    "portal.auth.LoginThrottleBackend",
    # Staff accounts refused a password when AGENT_PASSWORD_LOGIN is off (ProConnect only).
    "operators.proconnect.AgentPasswordGate",
    "django.contrib.auth.backends.ModelBackend",
    # ProConnect's callback (OpenID Connect), when PROCONNECT_ISSUER is set.
    "operators.proconnect.ProConnectBackend",
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
# Password-reset links stay valid for 1 day.
PASSWORD_RESET_TIMEOUT = 24 * 3600

# --- ProConnect (OpenID Connect; operators/proconnect.py, docs/integrations.md) ---------------
# Empty issuer: ProConnect is off and only passwords sign in. Production issuer:
# https://auth.agentconnect.gouv.fr/api/v2 (endpoints read from its discovery document).
PROCONNECT_ISSUER = env.str("PROCONNECT_ISSUER", default="")
PROCONNECT_CLIENT_ID = _secret("PROCONNECT_CLIENT_ID", default="")
PROCONNECT_CLIENT_SECRET = _secret("PROCONNECT_CLIENT_SECRET", default="")
# An agent (staff) signing in through ProConnect must present one of these `acr` (MFA).
PROCONNECT_AGENT_ACR_VALUES = env.list("PROCONNECT_AGENT_ACR_VALUES", default=["eidas2", "eidas3"])
# Off: agents sign in through ProConnect only (admin, portal and API token refuse their passwords).
AGENT_PASSWORD_LOGIN = env.bool("AGENT_PASSWORD_LOGIN", default=True)
# mozilla-django-oidc (client side of the flow): ProConnect's scopes, RS256-signed ID token and
# userinfo, state and nonce of 32+ characters, PKCE, no account created by the library itself.
OIDC_RP_SCOPES = "openid email given_name usual_name uid siret"
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_STATE_SIZE = 48
OIDC_NONCE_SIZE = 48
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False
OIDC_TIMEOUT = env.int("PROCONNECT_TIMEOUT_SECONDS", default=5)
OIDC_AUTHENTICATION_CALLBACK_URL = "proconnect:callback"
# Signing out of a ProConnect session ends it at ProConnect too (end_session_endpoint, the ID token as hint).
OIDC_STORE_ID_TOKEN = True
OIDC_OP_LOGOUT_URL_METHOD = "operators.proconnect.end_session_url"

# --- Login throttling (django-axes) -------------------------------------------
# After AXES_FAILURE_LIMIT failures for one user name from one address, that pair is locked for
# AXES_COOLOFF_MINUTES; a success resets the counter. Other users and addresses are not affected.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portail/lockout.html"
# The API answers a lockout with its JSON error body (429); the portal with the page above.
AXES_LOCKOUT_CALLABLE = "common.api.lockout.lockout_response"
AXES_VERBOSE = False
# The client's address as everywhere else (common.net: X-Forwarded-For only from TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "common.net.client_ip"

# --- Client address and login limits ---------------------------------------------------------
# Reverse proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For is believed;
# none by default: the peer's address is the client's. Used by throttles, django-axes and logs.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Portal login: failed attempts per address (whatever the user names) per 15 minutes.
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
# Password-reset e-mails per address and per account per hour (beyond, the page answers the same
# and nothing is sent).
PASSWORD_RESET_PER_ADDRESS = env.int("PASSWORD_RESET_PER_ADDRESS", default=5)
PASSWORD_RESET_PER_ACCOUNT = env.int("PASSWORD_RESET_PER_ACCOUNT", default=3)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# WhiteNoise serves STATIC_ROOT (filled by `collectstatic`) in production, compressed (gzip); with
# STATIC_MANIFEST=1 under content-hashed names cached for a year (collectstatic then must run before the
# app starts: a page naming a file missing from the manifest fails). DEBUG: files read from the apps.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# The manifest rewrites the url()s inside the DSFR's CSS, so its published SRI hashes no longer match:
# the hashed file name pins the content instead (same origin, CSP 'self').
DSFR_USE_INTEGRITY_CHECKSUMS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
# Uploaded proofs live outside any web root and are only served by authorised views.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = None

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A cache gone away must fail a request in a second, not hang it (common.ratelimit).
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# The SMTP relay (smtp backend); a relay that does not answer fails the send after EMAIL_TIMEOUT, and the
# e-mail task retries.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = _secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Where django.core.mail.backends.filebased.EmailBackend writes each message (make stack-check reads them).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-emails"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="financement-segur@localhost")
# Where operator actions are announced when no agent is assigned to the claim yet.
AGENTS_NOTIFICATION_EMAIL = env.str("AGENTS_NOTIFICATION_EMAIL", default="instruction@localhost")

# --- Celery ---------------------------------------------------------------
# No broker configured: tasks run in-process (eager), so the embedded default needs nothing.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# acks_late: a task whose worker dies is redelivered once this long has passed without an ack
# (Redis has no per-consumer redelivery); tasks are idempotent, so a redelivery is harmless.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # Workers sweep for such messages every interval × throttle seconds (kombu: 10 × 10).
    "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_RESTORE_THROTTLE", default=10),
    "socket_connect_timeout": 2,
}
# A request must not hang on a dead broker: publish fails fast, the outbox re-queues later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# --- REST framework -------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call then answers 401 with `WWW-Authenticate: Token` (not 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "operators.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # `?page=` must be a page number (400 otherwise, not page 1).
    "DEFAULT_PAGINATION_CLASS": "common.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.errors.exception_handler",
    # Bounded size and depth, storable text only (common.parsers); OPTIONS without serializers.
    # JSON only: the views receiving files set `parser_classes = [MultiPartParser]` themselves, so
    # every operation has one request content type (generated clients then send what we read).
    "DEFAULT_PARSER_CLASSES": ["common.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "common.api.metadata.Metadata",
    "DEFAULT_THROTTLE_RATES": {
        "simulate": env.str("THROTTLE_SIMULATE", default="120/min"),
        "token": env.str("THROTTLE_TOKEN", default="20/min"),
        "invitation": env.str("THROTTLE_INVITATION", default="10/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Financement Ségur — opérateurs MSSanté",
    "DESCRIPTION": "API des opérateurs MSSanté : simulation du financement, calendrier, demandes d'avance et de solde.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["common.api.hooks.normalise_optional_slash_paths"],
    # Tags and operationIds from the path after /api/v1 (`claims_list`, tag `claims`).
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request and response components apart: files are `format: binary` in requests, and a
    # response's fields are all required (common.openapi.AutoSchema).
    "COMPONENT_SPLIT_REQUEST": True,
    "COMPONENT_NO_READ_ONLY_REQUIRED": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.openapi.document_common_errors",
        "common.openapi.document_api_flow",
    ],
    # One name per choice set shared by several serializers; query parameters listing the same
    # values reference these components too (common.openapi).
    "ENUM_NAME_OVERRIDES": {
        "ClaimStateEnum": "claims.enums.ClaimState",
        "ClaimKindEnum": "claims.enums.ClaimKind",
        "DocumentKindEnum": "claims.enums.DocumentKind",
        "UploadableDocumentKindEnum": "claims.api.serializers.UPLOADABLE_KIND_CHOICES",
        "OperatorKindEnum": "operators.enums.OperatorKind",
        "EnrolmentStateEnum": "operators.enums.EnrolmentState",
        "MailboxTypeEnum": "funding.enums.MailboxType",
        "CountSourceEnum": "funding.enums.CountSource",
        "ErrorCodeEnum": "common.openapi.ERROR_CODES",
    },
}

# --- Domain settings --------------------------------------------------------
# Upload limit for proofs, in bytes (docs/spec/SPEC.md §5: 20 MB).
DOCUMENT_MAX_BYTES = env.int("DOCUMENT_MAX_BYTES", default=20 * 1024 * 1024)
# Antivirus (common.antivirus): clamd's address, `tcp://127.0.0.1:3310` or `unix:///run/clamav/clamd.ctl`.
# Empty (the default): scanning is off, proofs are usable as uploaded ("non analysée") and the admin says so.
# clamd's StreamMaxLength (25 MB by default) must stay above DOCUMENT_MAX_BYTES.
CLAMD_ADDRESS = env.str("CLAMD_ADDRESS", default="")
# Seconds a scan may take before it counts as failed (and is retried by its task).
CLAMD_TIMEOUT = env.int("CLAMD_TIMEOUT", default=60)
# Default response time given to an operator for a correction request, in days.
CORRECTION_DUE_DAYS = env.int("CORRECTION_DUE_DAYS", default=15)
# The paying agency's account, debited by the SEPA credit-transfer exports.
SEPA_DEBTOR_NAME = env.str("SEPA_DEBTOR_NAME", default="Agence de paiement (demo)")
SEPA_DEBTOR_IBAN = env.str("SEPA_DEBTOR_IBAN", default="FR7630001007941234567890185")
SEPA_DEBTOR_BIC = env.str("SEPA_DEBTOR_BIC", default="BDFEFRPPCCT")
# Observations period given to an operator notified of an undue payment, in days.
RECOVERY_OBSERVATION_DAYS = env.int("RECOVERY_OBSERVATION_DAYS", default=30)
# Reminders before a filing deadline, in days.
DEADLINE_REMINDER_DAYS = [int(d) for d in env.list("DEADLINE_REMINDER_DAYS", default=["14", "7", "1"])]
# Mailbox growth anomaly: an operator whose growth ratio between the reference and the closure
# extraction exceeds the overall growth × this factor, by at least this many mailboxes, is flagged.
ANOMALY_GROWTH_FACTOR = env.str("ANOMALY_GROWTH_FACTOR", default="2.0")
ANOMALY_MIN_INCREASE = env.int("ANOMALY_MIN_INCREASE", default=500)

# --- Operators: enrolment, invitations, webhooks (docs/operators.md, docs/api.md) -----------------
# The State's company directory (public Sirene data, no key; operators/company.py): SIREN/SIRET checked
# at enrolment. Empty: no check. Unreachable: the enrolment goes on, flagged "non vérifié" for the agent,
# and `operators.tasks.recheck_companies` retries.
COMPANY_API_URL = env.str("COMPANY_API_URL", default="https://recherche-entreprises.api.gouv.fr")
COMPANY_API_TIMEOUT_SECONDS = env.float("COMPANY_API_TIMEOUT_SECONDS", default=3)
COMPANY_CACHE_SECONDS = env.int("COMPANY_CACHE_SECONDS", default=24 * 3600)
# Public address of the site, for links in e-mails (invitations).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
# How long an invitation link stays valid, in days.
INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)
# Webhooks: attempts per delivery (retry n waits BASE × 2^(n-1) s, at most 30 min), failed
# deliveries in a row before a hook is disabled, receiver timeout, hooks per operator.
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=60)
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=5)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=5)
WEBHOOKS_PER_OPERATOR = env.int("WEBHOOKS_PER_OPERATOR", default=5)
# Receivers must be on the Internet (no SSRF into private networks) unless this is set (tests, demos).
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)

# Logs go to stderr (the process manager or container collects them): one JSON object per line with
# LOG_FORMAT=json (the default with DEBUG=0), each with the request id of the request or task.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")

# --- Legal pages of the portal (docs/portal.md: mentions légales, données
# personnelles, accessibilité, aide): who publishes, hosts and answers. The demo values say
# « à renseigner »; production sets them (texts beyond these live in portal/templates/portail/legal/).
LEGAL = {
    "service_name": "Financement Ségur MSSanté",
    "publisher": env.str("LEGAL_PUBLISHER", default="Agence de paiement du financement Ségur (à renseigner)"),
    "publisher_address": env.str("LEGAL_PUBLISHER_ADDRESS", default="Adresse postale à renseigner"),
    "publication_director": env.str(
        "LEGAL_PUBLICATION_DIRECTOR", default="Directeur ou directrice de la publication (à renseigner)"
    ),
    "host": env.str("LEGAL_HOST", default="Hébergeur à renseigner (raison sociale, adresse, téléphone)"),
    "support_email": env.str("SUPPORT_EMAIL", default="support-financement@localhost"),
    "dpo_email": env.str("DPO_EMAIL", default="dpo@localhost"),
    "retention": env.str(
        "PERSONAL_DATA_RETENTION",
        default="Comptes, dossiers et pièces : 10 ans après le dernier paiement ou reversement de la campagne "
        "(pièces justificatives de dépenses publiques) ; journaux de connexion : 1 an.",
    ),
    # RGAA: "non conforme", "partiellement conforme" or "totalement conforme", with the audit's date.
    "accessibility_status": env.str("ACCESSIBILITY_STATUS", default="partiellement conforme"),
    "accessibility_audit": env.str("ACCESSIBILITY_AUDIT", default="auto-évaluation automatisée (axe-core) de 2026"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "celery.app.trace": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},  # PDF font subsetting is chatty at INFO
    },
}

# Prometheus metrics at /metrics (common.observability): only for a bearer METRICS_TOKEN or an address
# in METRICS_ALLOWED_IPS (addresses or CIDR, as common.net.client_ip sees the client); neither: 404.
METRICS_TOKEN = _secret("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_COLLECTORS = ["claims.metrics.ClaimsCollector"]

# --- Security -------------------------------------------------------------------------------
# Production (DEBUG=0) defaults are strict and `manage.py check --deploy` is clean with them;
# each can be relaxed by its variable (e.g. behind a TLS-terminating proxy, set
# SECURE_PROXY_SSL_HEADER=1 so Django trusts X-Forwarded-Proto).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# A CSRF failure on /api/ answers the API's JSON 403.
CSRF_FAILURE_VIEW = "common.views.csrf_failure"
# Sessions end after 8 hours, or when the browser closes.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# API tokens expire this long after they were issued (a new POST /api/v1/auth/token issues another).
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24)
# Live API tokens per account (named ones from the portal and those issued by the endpoint above).
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=20)
# Request bodies: uploads are capped by DOCUMENT_MAX_BYTES; other bodies by this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)
# Idempotency-Key (common.idempotency): a successful POST is replayed to retries with the same key for
# this long; a key reserved by a request that never finished is taken over after IDEMPOTENCY_LOCK_SECONDS
# (longer than any request may run: gunicorn's --timeout).
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
IDEMPOTENCY_LOCK_SECONDS = env.int("IDEMPOTENCY_LOCK_SECONDS", default=120)
# The events feed (GET /api/v1/events) serves events older than this: an event is dated when its
# transaction starts and may commit later (lock waits, at most DATABASE_STATEMENT_TIMEOUT), so a
# client reading the newest ones could otherwise step past one that commits just after.
EVENTS_FEED_DELAY_SECONDS = env.int("EVENTS_FEED_DELAY_SECONDS", default=30)

# Content-Security-Policy (django-csp): scripts only from this site (Swagger UI is self-hosted by
# drf-spectacular-sidecar and its init script is a separate file); inline style attributes are
# allowed (admin and letters' previews use them), nothing else inline, no framing, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Optional error tracking (config/sentry.py): nothing is loaded or sent unless SENTRY_DSN is set.
SENTRY_DSN = _secret("SENTRY_DSN", default="")
if SENTRY_DSN:
    from config import sentry

    sentry.init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

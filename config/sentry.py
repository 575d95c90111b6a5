"""Optional error tracking: Sentry (or a compatible service such as GlitchTip) when SENTRY_DSN is set.

Called from the settings, so the web processes and the Celery worker and beat all report. No personal data
is sent (`send_default_pii=False`: no user name or e-mail, no cookie, no client address).
"""


def init(*, dsn, environment, release="", traces_sample_rate=0.0):
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
    )

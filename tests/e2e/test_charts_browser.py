"""The charts in Chromium: the agents' dashboard and the operator's mailbox page draw every chart, with
no console error, no Content-Security-Policy violation and no serious axe-core violation."""

import pytest

from claims import services
from tests.e2e.axe import audit
from tests.factories import (
    OperatorFactory,
    agent,
    claim_in_state,
    operator_user,
    record_counts,
    segur_campaign,
)

pytestmark = pytest.mark.e2e

# Listens before any script runs: a CSP violation is an event of the document, not a console line.
CSP_LISTENER = """(() => {
  window.__csp = [];
  document.addEventListener("securitypolicyviolation",
                            e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
})();"""


def watch(page):
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None,
    )
    page.add_init_script(CSP_LISTENER)
    return errors


def drawn_charts(page):
    """Canvases Chart.js has drawn on (a chart instance is attached to each)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => [c.dataset.chart, !!window.Chart && !!Chart.getChart(c)])"
    )


def test_dashboard_and_mailbox_charts_render_without_errors_or_csp_violations(page, login):
    campaign = segur_campaign("charts")
    claim_in_state("paid", campaign=campaign)
    claim_in_state("submitted", campaign=campaign)
    operator = OperatorFactory(eligible=True)
    record_counts(operator, campaign)
    member = operator_user(operator, "op-charts")
    services.claim_create(operator=operator, campaign=campaign, kind="advance", actor=member)

    errors = watch(page)
    instructor = agent("instr-charts")
    login(page, instructor.username, "pw", path="/admin/login/")
    page.goto(f"/admin/claims/claim/dashboard/?campagne={campaign.code}")
    page.wait_for_load_state("networkidle")
    charts = drawn_charts(page)
    assert charts and all(drawn for _, drawn in charts), charts
    assert page.evaluate("() => window.__csp") == []
    audit(page, "tableau de bord des agents")

    page.context.clear_cookies()
    login(page, member.username, "pw")
    page.goto("/portail/operateur/bal/")
    page.wait_for_load_state("networkidle")
    charts = drawn_charts(page)
    assert charts and all(drawn for _, drawn in charts), charts
    assert page.evaluate("() => window.__csp") == []
    audit(page, "BAL de l'opérateur")
    assert errors == []

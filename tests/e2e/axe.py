"""axe-core (vendored) run in the page by the browser tests; AUDITED keeps every page's violations."""

from pathlib import Path

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""
BLOCKING = {"serious", "critical"}
# Every page audited, with its violations by impact (printed with -s; the README quotes the figures).
AUDITED = []


def audit(page, name):
    """Run axe-core on the page as shown; fail on any serious or critical violation."""
    page.evaluate(AXE)
    violations = page.evaluate(RUN_AXE)
    AUDITED.append((name, sorted((v["impact"], v["id"]) for v in violations)))
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert blocking == [], f"{name}: {blocking}"
    return violations

"""The architecture notes and the decision records name real files: every repository path written in
backticks in docs/architecture.md and docs/decisions/*.md exists, so a newcomer following them lands
somewhere, and a file moved without its docs fails here."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "architecture.md", *sorted((ROOT / "docs" / "decisions").glob("*.md"))]

# A backticked span is taken for a repository path when it starts with one of these folders (apps,
# tests, docs…) or is one of these top-level files; anything else in backticks (a module path written
# with dots, a setting, a URL, a MIME type, a command) is not a path.
TOP_FOLDERS = {
    ".ci",
    "bench",
    "claims",
    "common",
    "config",
    "demo",
    "docs",
    "funding",
    "operators",
    "portal",
    "templates",
    "tests",
}
TOP_FILES = {"Makefile", "README.md", "manage.py", "pyproject.toml", "requirements.txt", "requirements-dev.txt"}
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`([^`\n]+)`")


def repository_paths(text):
    """The repository paths written in backticks in `text` (fenced code blocks left out)."""
    paths = []
    for span in SPAN.findall(FENCE.sub("", text)):
        candidate = span.strip()
        in_a_top_folder = "/" in candidate and candidate.split("/", 1)[0] in TOP_FOLDERS
        if candidate in TOP_FILES or (in_a_top_folder and not re.search(r"\s|[<>{}*…]", candidate)):
            paths.append(candidate)
    return paths


def test_paths_are_recognised():
    text = (
        "See `claims/workflow.py`, `funding/annuaire/`, `README.md` and `.ci/run`; not `claims.pricing`, "
        "`/portail/`, `application/json`, `MEDIA_ROOT/staging/`, `tests/<app>/test_<thing>.py`.\n"
        "```\n`claims/ignored_in_a_fence.py`\n```\n"
    )
    assert repository_paths(text) == ["claims/workflow.py", "funding/annuaire/", "README.md", ".ci/run"]


def test_the_docs_are_there():
    assert (ROOT / "docs" / "architecture.md").exists()
    assert len(DOCS) >= 10, [doc.name for doc in DOCS]


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.relative_to(ROOT).as_posix())
def test_every_path_in_the_docs_exists(doc):
    paths = repository_paths(doc.read_text(encoding="utf-8"))
    if doc.name == "architecture.md":
        assert len(paths) >= 30, "architecture.md names the files where each rule lives"
    missing = sorted({path for path in paths if not (ROOT / path).exists()})
    assert not missing, f"{doc.relative_to(ROOT)} names paths that do not exist: {missing}"

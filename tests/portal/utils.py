"""Small helpers for portal tests: a page as read, a streamed download, an accessibility check."""

import html
from html.parser import HTMLParser


def text(response):
    """The page as a person reads it: HTML entities decoded (e.g. &#x27; → ')."""
    return html.unescape(response.content.decode())


def get(client, url, **kwargs):
    """GET `url`, reading and closing a streamed body (downloads) so no file stays open."""
    response = client.get(url, **kwargs)
    if response.streaming:
        # Reading to the end lets the test client close the response (and the file) itself,
        # without firing request_finished, which would close the test's database connection.
        response.body = b"".join(response.streaming_content)
    return response


UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class PageAudit(HTMLParser):
    """Collects what the checks need: lang, title, fields and their labels, headings."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.title = ""
        self.in_title = False
        self.label_for = set()
        self.open_labels = 0
        self.fields = []  # (tag, attrs, wrapped in a label)
        self.ids = set()
        self.headings = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "html":
            self.lang = attrs.get("lang")
        elif tag == "title":
            self.in_title = True
        elif tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if not (tag == "input" and attrs.get("type", "text") in UNLABELLED_TYPES):
                self.fields.append((tag, attrs, self.open_labels > 0))
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag == "label":
            self.open_labels = max(0, self.open_labels - 1)

    def handle_data(self, data):
        if self.in_title:
            self.title += data


def audit(html):
    parser = PageAudit()
    parser.feed(html)
    parser.close()
    problems = []
    if parser.lang != "fr":
        problems.append(f'<html lang> is {parser.lang!r}, not "fr"')
    if not parser.title.strip():
        problems.append("no page title")
    for tag, attrs, wrapped in parser.fields:
        labelled = (
            wrapped
            or attrs.get("id") in parser.label_for
            or attrs.get("aria-label", "").strip()
            or any(ref in parser.ids for ref in attrs.get("aria-labelledby", "").split())
        )
        if not labelled:
            problems.append(f"<{tag} name={attrs.get('name')!r} id={attrs.get('id')!r}> has no label")
    if parser.headings[:1] != [1]:
        problems.append(f"the first heading is not an h1: {parser.headings}")
    if parser.headings.count(1) != 1:
        problems.append(f"{parser.headings.count(1)} h1 on the page")
    for previous, current in zip(parser.headings, parser.headings[1:], strict=False):
        if current > previous + 1:
            problems.append(f"heading level skipped: h{previous} then h{current} in {parser.headings}")
    return problems, parser


def check(client, url, *, method="get", data=None, expect=(200,), **kwargs):
    response = getattr(client, method)(url, data or {}, **kwargs)
    assert response.status_code in expect, (url, response.status_code)
    problems, parser = audit(response.content.decode())
    assert problems == [], f"{url}: {problems}"
    return parser

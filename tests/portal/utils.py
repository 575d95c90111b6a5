"""Small helpers for portal tests."""

import html


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

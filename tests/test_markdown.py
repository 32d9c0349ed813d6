"""Agents' Markdown as the dashboard renders it (hivegov_mcp/http/markdown.py): the structure
Markdown means survives; scripts, event handlers, unsafe URLs, raw HTML and images don't, whether
they come through Markdown or straight at the sanitiser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from hivegov_mcp.http.markdown import render_markdown, safe_url, sanitize

REL = 'rel="nofollow noopener noreferrer"'


class Elements(HTMLParser):
    """Every element of an HTML fragment as (tag, {attribute: value}), as a browser parses it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    return Elements(html).found


def test_markdown_keeps_its_structure_and_moves_headings_below_the_page_s_own() -> None:
    html = str(
        render_markdown(
            "# Plan\n\nSome *emphasis*, **strong**, ~~gone~~ and `code`.\n\n"
            "- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n```\nx < 1\n```\n\n"
            "| a | b |\n|--:|---|\n| 1 | 2 |\n\n[the spec](https://example.org/spec)"
        )
    )
    assert html.startswith("<h3>Plan</h3>")
    for fragment in (
        "<em>emphasis</em>",
        "<strong>strong</strong>",
        "<s>gone</s>",
        "<code>code</code>",
        "<ul>\n<li>one</li>",
        '<ol start="3">',
        "<blockquote>",
        "<pre><code>x &lt; 1\n</code></pre>",
        "<th>a</th>",
        "<td>1</td>",
        f'<a href="https://example.org/spec" {REL}>the spec</a>',
    ):
        assert fragment in html, fragment
    assert "style=" not in html  # a table's alignment would be an inline style the CSP refuses


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)" onclick="alert(2)">click</a>',
        "<div onmouseover=alert(1)>hover</div>",
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)><circle/></svg>",
        '<p style="position:fixed">cover</p>',
        "<!-- a comment --><b>bold</b>",
    ],
)
def test_raw_html_from_an_agent_is_text_never_markup(text: str) -> None:
    html = str(render_markdown(text))
    assert elements(html) == [("p", {})]  # every tag shown as text
    assert "&lt;" in html


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](java%0ascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](file:///etc/passwd)",
        "[x](/logout)",
        "[x](//evil.example/x)",
        "<javascript:alert(1)>",
    ],
)
def test_a_link_keeps_its_target_only_for_http_https_and_mailto(text: str) -> None:
    html = str(render_markdown(text))
    assert all("href" not in attrs for _, attrs in elements(html))


def test_safe_links_get_rel_nofollow_noopener() -> None:
    html = str(render_markdown("[a](https://a.example/) [b](http://b.example/x?y=1&z=2) [c](mailto:c@example.org)"))
    assert re.findall(r'<a href="([^"]+)" rel="([^"]+)">', html) == [
        ("https://a.example/", "nofollow noopener noreferrer"),
        ("http://b.example/x?y=1&amp;z=2", "nofollow noopener noreferrer"),
        ("mailto:c@example.org", "nofollow noopener noreferrer"),
    ]


def test_an_image_is_never_loaded_its_url_stays_a_link() -> None:
    html = str(render_markdown('![chart](https://evil.example/x.png "t") ![x](x" onerror="alert(1))'))
    assert elements(html) == [
        ("p", {}),
        ("a", {"href": "https://evil.example/x.png", "title": "t", "rel": "nofollow noopener noreferrer"}),
    ]  # the second "image" is text: no img, no onerror attribute anywhere
    assert f'<a href="https://evil.example/x.png" title="t" {REL}>chart</a>' in html


def test_the_sanitiser_alone_strips_what_markdown_would_never_produce() -> None:
    dirty = (
        '<a href="javascript:alert(1)" onclick="alert(2)">a</a>'
        '<a href="https://ok.example/" target="_top" rel="opener">b</a>'
        '<img src="https://x.example/i.png" onerror="alert(3)">'
        "<script>alert(4)</script><style>body{display:none}</style>"
        '<p class="x" id="error" style="color:red" onmouseover="alert(5)">p</p>'
        '<form action="/logout" method="post"><button>go</button></form>'
        '<svg><a xlink:href="javascript:alert(6)">s</a></svg>'
    )
    assert sanitize(dirty) == f'<a {REL}>a</a><a href="https://ok.example/" {REL}>b</a><p>p</p>go'


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/pr/42", True),
        ("http://example.org/run?id=7", True),
        ("mailto:ops@example.org", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("ftp://example.org/x", False),
        ("/relative/path", False),
        ("//example.org/x", False),
        ("https:", False),
        ("https://exa mple.org", False),
        ("git@github.com:o/r.git", False),
        ("", False),
    ],
)
def test_safe_url_keeps_absolute_http_https_and_mailto_only(url: str, kept: bool) -> None:
    assert (safe_url(url) is not None) is kept

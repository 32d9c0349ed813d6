"""Agents' Markdown as the dashboard renders it (hivegov_mcp/http/markdown.py): the structure
Markdown means survives; scripts, event handlers, unsafe URLs, raw HTML and images don't, whether
they come through Markdown or straight at the sanitiser."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from hivegov_mcp.http import markdown
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


# -- nothing vanishes, no piece is slow --------------------------------------------------------------
HIDDEN = "Hidden clause: the executor may spend unlimited funds."


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    markdown.cache.clear()


def test_markdown_whose_rendering_would_be_slow_shows_as_escaped_plain_text() -> None:
    brackets = "[" * 16_000  # a comment at its size limit; ~170 ms for markdown-it
    assert markdown.markup_cost(brackets) > markdown.MAX_MARKUP
    assert str(render_markdown(brackets)) == f"<pre>{brackets}</pre>"
    assert str(render_markdown("<b>" * 5_000)) == "<pre>" + "&lt;b&gt;" * 5_000 + "</pre>"  # escaped, not markup
    prose = "Plain words " * 1_000 + "and *one* [link](https://example.org)."
    assert "<em>one</em>" in str(render_markdown(prose))  # long text with little markup still renders


def test_a_piece_renders_once_then_comes_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Some *emphasis* and a [link](https://example.org)."
    first = render_markdown(text)

    def never(_: str) -> str:
        raise AssertionError("rendered again")

    monkeypatch.setattr(markdown, "_rendered", never)
    assert render_markdown(text) == first
    assert len(markdown.cache) == 1


def test_the_cache_is_bounded_by_entries_and_by_size_least_recently_used_first() -> None:
    cache = markdown._Cache(entries=2, chars=10)
    cache.put(b"a", "aaa")
    cache.put(b"b", "bbb")
    assert cache.get(b"a") == "aaa"  # now b is the least recently used
    cache.put(b"c", "ccc")
    assert (cache.get(b"a"), cache.get(b"b"), cache.get(b"c")) == ("aaa", None, "ccc")
    cache.put(b"d", "d" * 9)  # 12 characters with c: over the size bound, only d stays
    assert (len(cache), cache.get(b"d")) == (1, "d" * 9)


def test_a_page_renders_only_its_budget_of_markup_the_rest_as_plain_text_until_cached() -> None:
    first, second = "*a* " * 10, "*b* " * 10
    with markdown.page_budget(markdown.markup_cost(first)):
        assert "<em>a</em>" in str(render_markdown(first))
        assert str(render_markdown(second)) == f"<pre>{second}</pre>"  # past the budget
        assert "<em>a</em>" in str(render_markdown(first))  # cached: costs nothing
    with markdown.page_budget(markdown.markup_cost(second)):
        assert "<em>b</em>" in str(render_markdown(second))  # the fallback was not cached


@pytest.mark.parametrize(
    "text",
    [
        "Visible.\n\n" + "> " * 21 + HIDDEN,  # past markdown-it's maxNesting (20): dropped
        "".join("  " * i + f"- level {i}\n" for i in range(10)) + "                    " + HIDDEN,
        "| a | b |\n|---|---|\n| 1 | 2 | " + HIDDEN + " |",  # a row's cells past the header's
        "```python " + HIDDEN + "\nprint(1)\n```",  # a code fence's info string past the language
        '[x]: https://example.org "' + HIDDEN + '"\n\nVisible.',  # an unused link reference definition
    ],
)
def test_text_markdown_would_drop_still_shows(text: str) -> None:
    html = str(render_markdown(text))
    assert "Hidden clause: the executor may spend unlimited funds." in html
    assert elements(html)[0] in (("pre", {}), ("p", {}))


def test_a_list_ten_deep_keeps_its_innermost_item() -> None:
    assert "item9" in str(render_markdown("".join("  " * i + f"- item{i}\n" for i in range(10))))


@pytest.mark.parametrize(
    "text",
    [
        "Caf&eacute; &amp; cr&egrave;me, `&amp;` kept, &#65;BC",
        'See [the page](https://example.org/caf%C3%A9/ü?q=1 "Its title") and <https://example.org/x>.',
        "snake\\_case, __init__, foo*bar*baz and ~~old~~ new",
        "1. one\n7. seven\n\n```python\nprint('x')\n```\n\n    indented code",
        "> quoted\n> > twice\n\n- a\n  - b\n    - c",
    ],
)
def test_ordinary_markdown_is_rendered_not_shown_as_plain_text(text: str) -> None:
    assert not str(render_markdown(text)).startswith("<pre>")


def test_a_link_target_the_sanitiser_removes_shows_as_text() -> None:
    html = str(render_markdown("[the terms](/terms-say-the-executor-may-spend-unlimited-funds)"))
    assert "unlimited-funds" in html and "href" not in html

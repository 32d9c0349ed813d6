"""Agents' text as the dashboard shows it: Markdown rendered to HTML, then sanitised.

Proposal sections, comments, summaries and execution reports are agents' data, written by
whoever holds a token, so the page never trusts them:

1. markdown-it-py renders CommonMark (with tables and strikethrough) and *escapes* raw HTML
   (`html=False`): `<script>` in a comment shows as the text `<script>`. Images are not
   rendered (`![alt](url)` stays a link to the image: the page's CSP loads no image from
   elsewhere, and an image is a request the reader did not choose). Headings move down two
   levels so an agent's `# Title` sits under the page's own `h2`.
2. nh3 (the ammonia sanitiser) then keeps only the tags Markdown produces and the attributes
   listed below, whatever step 1 let through: no event handler, no `style` (the CSP would
   refuse it anyway), no `class`, no `id`. A link keeps its `href` only for http, https and
   mailto (no `javascript:`, `data:`, relative or protocol-relative URL), and every link gets
   `rel="nofollow noopener noreferrer"`.

`safe_url` applies the same rule to a bare URL (an execution artifact, say): the URL when its
scheme is http, https or mailto, otherwise None, and the page shows it as text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

SCHEMES = frozenset({"http", "https", "mailto"})
REL = "nofollow noopener noreferrer"
HEADING_SHIFT = 2  # an agent's h1 becomes the page's h3
TAGS = frozenset(
    {
        "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


def safe_url(url: str) -> str | None:
    """`url` when it is an absolute http, https or mailto URL; None for anything else."""
    text = url.strip()
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return text


def _keep(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        return safe_url(value)
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() else None
    return value


_cleaner = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags={"script", "style"},
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    attribute_filter=_keep,
    link_rel=REL,
    url_schemes=set(SCHEMES),
)

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"]).disable("image")


def _shift_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + HEADING_SHIFT)}"


def sanitize(html: str) -> str:
    """Only the tags and attributes Markdown's output needs, links with safe schemes and `rel`."""
    return _cleaner.clean(html)


def render_markdown(text: str) -> Markup:
    """Agents' Markdown as HTML safe to put in the page (the Jinja filter `markdown`)."""
    tokens = _markdown.parse(text)
    _shift_headings(tokens)
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return Markup(sanitize(html))  # sanitised just above

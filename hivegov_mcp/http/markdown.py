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

Nothing an agent wrote may vanish from the page while MCP and REST show it, and no agent's text
may make a page slow to render:

3. Every word of the source must be in what the page shows (the rendered text, a safe link's
   target, a link's title, a code block's language): otherwise something was dropped (a block
   nested past markdown-it's `maxNesting`, a table row's extra cells, words after a code fence's
   language, a link target nh3 removes) and the piece shows as escaped plain text in a `<pre>`.
   Link reference definitions are off (an unused `[label]: url "title"` would show nothing):
   `[label]: url` reads as the text it is.
4. Rendering costs about 5-17 µs per Markdown-significant character (`[`, `*`, `|`, a newline...),
   whatever their arrangement. A piece with more than MAX_MARKUP of them shows as plain text, as
   does a piece beyond the page's budget (`page_budget`: PAGE_MARKUP of them, for the pieces not
   already cached); rendered pieces are cached by the SHA-256 of their source (CACHE_ENTRIES,
   CACHE_CHARS), so a live refresh renders again only what changed. The dashboard renders a page
   in a worker thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import html as html_text
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote, urlsplit

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
MARKUP_CHARACTERS = "\n!#$%&*+-:<=>@[\\]^_`{}~|"  # where markdown-it's rules start work (and tables' pipes)
MAX_MARKUP = 8_000  # a piece with more of them than this shows as plain text (~40-140 ms to render)
PAGE_MARKUP = 50_000  # the most of them one page renders anew; the pieces past it show as plain text
CACHE_ENTRIES = 2_000  # rendered pieces kept, least recently used dropped first
CACHE_CHARS = 32 * 1024 * 1024  # and at most this much HTML in all


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
_markdown.enable(["table", "strikethrough"]).disable(["image", "reference"])

_NOT_MARKUP = str.maketrans("", "", MARKUP_CHARACTERS)
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what Markdown's punctuation separates
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_budget: ContextVar[list[int] | None] = ContextVar("markdown_page_budget", default=None)


class _Cache:
    """Rendered HTML by the SHA-256 of its source, least recently used first; thread-safe (pages
    render in worker threads)."""

    def __init__(self, entries: int = CACHE_ENTRIES, chars: int = CACHE_CHARS) -> None:
        self.entries, self.chars = entries, chars
        self._html: OrderedDict[bytes, str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> str | None:
        with self._lock:
            found = self._html.get(key)
            if found is not None:
                self._html.move_to_end(key)
            return found

    def put(self, key: bytes, html: str) -> None:
        with self._lock:
            self._size -= len(self._html.pop(key, ""))
            self._html[key] = html
            self._size += len(html)
            while self._html and (len(self._html) > self.entries or self._size > self.chars):
                self._size -= len(self._html.popitem(last=False)[1])

    def clear(self) -> None:
        with self._lock:
            self._html.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._html)


cache = _Cache()


def _shift_headings(tokens: list[Token]) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + HEADING_SHIFT)}"


def sanitize(html: str) -> str:
    """Only the tags and attributes Markdown's output needs, links with safe schemes and `rel`."""
    return _cleaner.clean(html)


def markup_cost(text: str) -> int:
    """How many Markdown-significant characters `text` has: what rendering it costs."""
    return len(text) - len(text.translate(_NOT_MARKUP))


def plain(text: str) -> str:
    """`text` as the page shows it when it is not rendered: escaped, in a `<pre>` (which wraps)."""
    return f"<pre>{html_text.escape(text, quote=False)}</pre>"


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text))


def _shown(tokens: list[Token]) -> Counter[str]:
    """The words the rendered tokens show: text, code, safe link targets, link titles, list
    numbers and a code block's language."""
    pieces: list[str] = []
    for token in tokens:
        if token.type in ("code_block", "fence"):
            pieces += [token.content, *token.info.split()[:1]]
        elif token.type == "list_item_open":
            pieces.append(token.info)
        for child in token.children or ():
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")  # normalised: percent-encoded
                shown = [href, unquote(href)] if safe_url(href) else []  # nh3 drops an unsafe one
                pieces += [*shown, str(child.attrGet("title") or "")]
            else:
                pieces.append(child.content)
    return _words("\n".join(pieces))


def _rendered(text: str) -> str:
    """The piece rendered and sanitised, or as plain text when rendering would drop any word of it."""
    tokens = _markdown.parse(text)
    source = _ENTITY.sub(lambda m: html_text.unescape(m.group()), text)  # as markdown-it decodes them
    if _words(source) - _shown(tokens):
        return plain(text)  # nested past maxNesting, a table row's extra cells...: show it all as written
    _shift_headings(tokens)
    return sanitize(_markdown.renderer.render(tokens, _markdown.options, {}))


@contextmanager
def page_budget(markup: int = PAGE_MARKUP) -> Iterator[None]:
    """Within this block (one page's render, in one thread or task), the pieces not cached render
    only while their Markdown-significant characters add up to at most `markup`; the rest show as
    plain text, and render on a later view once the cache holds the others."""
    token = _budget.set([markup])
    try:
        yield
    finally:
        _budget.reset(token)


def render_markdown(text: str) -> Markup:
    """Agents' Markdown as HTML safe to put in the page (the Jinja filter `markdown`)."""
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    found = cache.get(key)
    if found is not None:
        return Markup(found)  # sanitised (or escaped) when it was cached
    cost, budget = markup_cost(text), _budget.get()
    if cost > MAX_MARKUP:
        html = plain(text)
    elif budget is not None and cost > budget[0]:
        return Markup(plain(text))  # past this page's budget: not cached, a later view renders it
    else:
        if budget is not None:
            budget[0] -= cost
        html = _rendered(text)
    cache.put(key, html)
    return Markup(html)  # sanitised by nh3, or escaped plain text

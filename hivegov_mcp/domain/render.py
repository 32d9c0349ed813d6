"""Renderings of proposals: Markdown (for resources and diffs), searchable text, search snippets."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hivegov_mcp.domain.models import ProposalContent

SECTIONS = ("abstract", "motivation", "specification", "implementation")


def content_markdown(content: ProposalContent) -> str:
    """The content of one version; the same text is diffed between versions."""
    parts = [f"# {content.title}", ""]
    for name in SECTIONS:
        parts += [f"## {name.capitalize()}", "", getattr(content, name) or "(none)", ""]
    deps = ", ".join(content.dependencies) or "(none)"
    parts += ["## Dependencies", "", deps, ""]
    return "\n".join(parts)


def search_body(content: ProposalContent) -> str:
    return "\n\n".join(getattr(content, name) for name in SECTIONS)


SNIPPET_WORDS = 16
SCAN_CHARS = 64 * 1024  # a match further into a text shows that text's first words instead
_WORD = re.compile(r"\w+")
_SUFFIXES = ("ations", "ation", "ances", "ance", "ings", "ing", "ions", "ion", "ies", "es", "ed", "s", "e")


def _stem(term: str) -> str:
    """A rough stem, so that `governing` finds `governance` as the index's porter stemmer does."""
    word = term.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _matches(word: str, stems: Sequence[str]) -> bool:
    return _stem(word) in stems or word.lower() in stems


def snippet(texts: Sequence[str], terms: Sequence[str], *, words: int = SNIPPET_WORDS) -> str:
    """About `words` words from just before the first match of any term, matches in [brackets].

    A word matches when its rough stem is a term's (`cats` for `cat`, not `category`). One
    regular-expression scan of at most SCAN_CHARS of each text, stopping at the first match:
    bounded whatever the text and nearly independent of the number of terms (SQLite's
    snippet() grows much faster than that with the terms, and can't be interrupted)."""
    stems = sorted({_stem(t) for t in terms if t}, key=len, reverse=True)
    if stems:
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, stems)) + r")\w*", re.IGNORECASE)
        for text in texts:
            scanned = text[:SCAN_CHARS]
            found = next((m for m in pattern.finditer(scanned) if _matches(m.group(), stems)), None)
            if found is None:
                continue
            start = found.start()
            window = max(0, start - 120)
            preceding = list(_WORD.finditer(scanned, window, start))
            if preceding and window > 0 and preceding[0].start() == window and scanned[window - 1].isalnum():
                preceding = preceding[1:]  # a word cut by the window's edge
            before = preceding[-3:]
            first_shown = before[0].start() if before else start
            after = _WORD.findall(text[start : start + 40 * words])[: words - len(before)]
            shown = [f"[{w}]" if _matches(w, stems) else w for w in [*(m.group() for m in before), *after]]
            lead = "…" if _WORD.search(text, 0, first_shown) else ""
            tail = "…" if len(after) == words - len(before) else ""
            return f"{lead}{' '.join(shown)}{tail}"
    first = next((t for t in texts if t.strip()), "")
    head = _WORD.findall(first[: 40 * words])
    return " ".join(head[:words]) + ("…" if len(head) > words else "")

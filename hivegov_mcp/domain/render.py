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
_WORD = re.compile(r"\w+")
_SUFFIXES = ("ations", "ation", "ances", "ance", "ings", "ing", "ions", "ion", "ies", "es", "ed", "s")


def _stem(term: str) -> str:
    """A rough stem, so that `governing` finds `governance` as the index's porter stemmer does."""
    word = term.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def snippet(texts: Sequence[str], terms: Sequence[str], *, words: int = SNIPPET_WORDS) -> str:
    """About `words` words from just before the first match of any term, matches in [brackets].

    One regular-expression scan per text, stopping at the first match: linear in the text and
    nearly independent of the number of terms (SQLite's snippet() grows much faster than that
    with the number of terms, and can't be interrupted)."""
    stems = sorted({_stem(t) for t in terms if t}, key=len, reverse=True)
    if stems:
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, stems)) + r")\w*", re.IGNORECASE)
        for text in texts:
            found = pattern.search(text)
            if found is None:
                continue
            preceding = _WORD.findall(text[max(0, found.start() - 120) : found.start()])
            before = preceding[-3:]
            after = _WORD.findall(text[found.start() : found.start() + 40 * words])[: words - len(before)]
            shown = [f"[{w}]" if pattern.fullmatch(w) else w for w in [*before, *after]]
            lead = "…" if len(preceding) > len(before) or found.start() > 120 else ""
            return f"{lead}{' '.join(shown)}…" if len(after) == words - len(before) else f"{lead}{' '.join(shown)}"
    first = next((t for t in texts if t.strip()), "")
    head = _WORD.findall(first[: 40 * words])
    return " ".join(head[:words]) + ("…" if len(head) > words else "")

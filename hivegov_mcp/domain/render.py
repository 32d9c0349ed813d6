"""Markdown renderings of proposals (for resources and diffs)."""

from __future__ import annotations

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

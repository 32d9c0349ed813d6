"""In-chat views (MCP Apps, SEP-1865, extension `io.modelcontextprotocol/ui`): the proposal
card and the board, each one self-contained HTML document served as a `ui://` resource with the
Apps MIME type, for the tools whose catalogue entry names a view (`Operation.view`).

A host that renders apps reads the resource, shows it in a sandboxed iframe and passes it the
tool's result over postMessage; the view asks for more (the discussion, the results, another
page) with `tools/call` requests the host makes to this server for it. The view holds no token
and fetches nothing itself: its CSP (declared in the resource's `_meta.ui.csp` and again in the
document) allows no connection, and agents' text only ever reaches the page as `textContent`.

Clients that did not declare the extension see today's lists: the tools' `_meta.ui` and the
`ui://` resources are shown to those that did (`for_client`). Tool results are the same for all.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.apps import EXTENSION_ID, Apps, ResourceCsp, client_supports_apps
from mcp.types import Resource, Tool

from hivegov_mcp.catalogue import TOOLS, View

__all__ = [
    "EXTENSION_ID",
    "View",
    "apps_extension",
    "document",
    "resources_for_client",
    "tool_meta",
    "tools_for_client",
]

# view -> (title, description, the scripts it runs, its app name)
VIEWS: dict[View, tuple[str, str, tuple[str, ...], str]] = {
    View.PROPOSAL_CARD: (
        "Proposal card",
        "One proposal: status, deadline, text, its discussion and, after the vote, the tally.",
        ("bridge.js", "card.js"),
        "hivegov-proposal-card",
    ),
    View.BOARD: (
        "Proposal board",
        "The proposals by status; opening one shows its card.",
        ("bridge.js", "card.js", "board.js"),
        "hivegov-board",
    ),
}
START = {View.PROPOSAL_CARD: "(data) => showProposal(data, null)", View.BOARD: "showBoard"}


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def document(view: View) -> str:
    """The view's HTML: one document with its style and script inline, and a CSP that allows
    those two (by hash) and nothing else: no connection, no other script, no frame."""
    title, _, scripts, app = VIEWS[view]
    script = "\n".join(_read(name) for name in scripts) + f"\nHost.start({app!r}, {START[view]});\n"
    style = _read("view.css")
    if "</" in script or "</" in style:  # nothing in them may end the element they sit in
        raise ValueError("a view's script or style contains '</'")
    csp = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; img-src data:; "
        "connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
    )
    values = {"csp": csp, "title": title, "view": view.name.lower(), "style": style, "script": script}
    return re.sub(r"\{(\w+)\}", lambda m: values[m[1]], _read("page.html"))


def apps_extension() -> Apps:
    """The Apps extension with every view as a resource: advertised in the server's capabilities,
    served by resources/read. No domain is declared: the views connect nowhere."""
    apps = Apps()
    for view, (title, description, _, _) in VIEWS.items():
        apps.add_html_resource(
            view.value,
            document(view),
            name=view.name.lower(),
            title=title,
            description=description,
            csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
            prefers_border=True,
        )
    unserved = {op.view for op in TOOLS if op.view is not None} - set(VIEWS)
    if unserved:
        raise ValueError(f"catalogue views without a document: {sorted(unserved)}")
    return apps


def tool_meta(view: View | None) -> dict[str, Any] | None:
    """A tool's `_meta`: the view its result is shown in (the spec's `_meta.ui.resourceUri`)."""
    return None if view is None else {"ui": {"resourceUri": view.value}}


def tools_for_client(ctx: ServerRequestContext[Any], tools: list[Tool]) -> list[Tool]:
    """The tools as this client sees them: without `_meta.ui` unless it declared Apps support."""
    if client_supports_apps(ctx):
        return tools
    return [_without_ui(tool) for tool in tools]


def resources_for_client(ctx: ServerRequestContext[Any], listed: list[Resource]) -> list[Resource]:
    """The resources as this client sees them: the `ui://` views only if it declared Apps support
    (the spec lets a server leave them out; any client may still read them)."""
    if client_supports_apps(ctx):
        return listed
    return [r for r in listed if not str(r.uri).startswith("ui://")]


def _without_ui(tool: Tool) -> Tool:
    if not tool.meta or "ui" not in tool.meta:
        return tool
    rest = {key: value for key, value in tool.meta.items() if key != "ui"}
    return tool.model_copy(update={"meta": rest or None})

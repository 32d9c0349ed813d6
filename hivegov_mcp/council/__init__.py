"""The council (DESIGN §19): language models that take part as ordinary members.

A member is a registered agent with its own token and roles, backed by a model at an
OpenAI-compatible endpoint. It acts on its `get_my_agenda` items through the server's MCP
tools with its own token, so every rule applies to it as to anyone and the audit log names it.
The server never imports a model library: this package is a client of it, like any other.

- `config`: the council file (`council.toml`), checked.
- `budget`: each member's model budget (requests per hour, tokens per day), without I/O.
- `prompts`: what a model is told, with other agents' text fenced as data.
- `endpoint`: the model behind a member: an OpenAI-compatible endpoint, budgeted and retried.
- `member`: one member's loop: agenda, one item at a time, acting through tools.
- `connection`: the server as a member sees it (its toolset, whole discussions, a refused token).
- `wake`: what wakes members: the server's event stream (or the database's log over stdio).
- `status`: the status file `council status` reads (budgets, last actions, errors).
- `runner`: the council: members in parallel, Ctrl-C, `council run` and `council check`.
- `scripted`: an OpenAI-compatible endpoint of scripted replies, for the demo and the tests.
- `commands`: `hivegov-mcp council run | check | status`; `demo`: `hivegov-mcp demo --council`.
"""

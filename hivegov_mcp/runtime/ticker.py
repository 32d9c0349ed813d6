"""The deadline ticker: a task that applies due deadlines so that a proposal nobody touches still
moves on time (reads and writes apply the deadlines they meet themselves)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from hivegov_mcp.domain.errors import HivegovError
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)


async def run_ticker(
    service: GovernanceService,
    wait: Callable[[], Awaitable[object]],
    on_tick: Callable[[list[str]], Awaitable[None]] | None = None,
) -> None:
    """Process due deadlines after each `wait()`. Reads and writes apply deadlines too, so the
    ticker only makes sure a proposal nobody touches still moves on time."""
    while True:
        await wait()
        try:
            processed = await service.apply_due_deadlines()
        except HivegovError as exc:  # busy or unwritable for now: say so and keep ticking
            log.warning("deadline ticker: %s", exc)
            continue
        except Exception:  # top level of a background task: log and keep ticking
            log.exception("deadline ticker failed; retrying")
            continue
        if processed:
            log.info("deadlines processed: %s", ", ".join(processed))
        if on_tick is not None:
            await on_tick(processed)

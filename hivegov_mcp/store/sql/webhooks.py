"""The SQL of webhooks and their deliveries (both engines). A delivery attempt is a row keyed by
(webhook, seq, attempt): the process that inserts it delivers it, so each is sent once."""

from __future__ import annotations

from datetime import datetime

from hivegov_mcp.domain.record_models import Webhook
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import fits, ts
from hivegov_mcp.store.sql.executor import Executor


def _delivered(status_code: int | None) -> int:
    return int(status_code is not None and 200 <= status_code < 300)


class WebhookSQL(Executor):
    async def insert_webhook(self, url: str, secret: str, at: datetime, by: str, from_seq: int) -> int:
        d = self.dialect
        return await self._insert(
            "INSERT INTO webhooks (url, secret, created_at, created_by, from_seq) "
            f"VALUES ({d.marks(5)}){d.returning_id}",
            (url, secret, ts(at), by, from_seq),
        )

    async def webhooks(self) -> list[tuple[Webhook, str]]:
        found = await self._all(
            "SELECT w.id, w.url, w.secret, w.created_at, w.created_by, w.from_seq, "
            "(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered = 1) AS delivered, "
            "(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered = 0 "
            "AND (d.status_code IS NOT NULL OR d.error != 'pending')) AS failed "
            "FROM webhooks w WHERE w.removed_at IS NULL ORDER BY w.id"
        )
        return [rows.webhook(r) for r in found]

    async def webhook_rows(self) -> list[tuple[int, str, bool, str]]:
        """(id, url, removed, secret) of every webhook, removed ones too (for verify_audit)."""
        found = await self._all("SELECT id, url, removed_at, secret FROM webhooks ORDER BY id")
        return [(int(r["id"]), rows.text(r["url"]), r["removed_at"] is not None, rows.text(r["secret"])) for r in found]

    async def remove_webhook(self, webhook_id: int, at: datetime) -> bool:
        if not fits(webhook_id):
            return False
        p = self.dialect.placeholder
        row = await self._one(f"SELECT id FROM webhooks WHERE id = {p} AND removed_at IS NULL", (webhook_id,))
        if row is None:
            return False
        await self._run(f"UPDATE webhooks SET removed_at = {p} WHERE id = {p}", (ts(at), webhook_id))
        return True

    async def record_delivery(
        self, webhook_id: int, seq: int, attempt: int, at: datetime, status_code: int | None, error: str | None
    ) -> bool:
        taken = await self._all(
            "INSERT INTO webhook_deliveries (webhook_id, seq, attempt, at, status_code, error, delivered) "
            f"VALUES ({self.dialect.marks(7)}) ON CONFLICT DO NOTHING RETURNING 1 AS taken",
            (webhook_id, seq, attempt, ts(at), status_code, error, _delivered(status_code)),
        )
        return bool(taken)

    async def finish_delivery(
        self, webhook_id: int, seq: int, attempt: int, status_code: int | None, error: str | None
    ) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE webhook_deliveries SET status_code = {p}, error = {p}, delivered = {p} "
            f"WHERE webhook_id = {p} AND seq = {p} AND attempt = {p}",
            (status_code, error, _delivered(status_code), webhook_id, seq, attempt),
        )

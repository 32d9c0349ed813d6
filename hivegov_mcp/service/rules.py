"""The rules in the database (DESIGN §4): adopt them on first open, show them, set a new version.

Every process on a database counts under the same rules: a process given rules (a
`--config` file) that differ from the version in force refuses to start.
"""

from __future__ import annotations

from hivegov_mcp.domain.config import GovernanceConfig, canonical_toml, rules_hash
from hivegov_mcp.domain.errors import RulesMismatch
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent, Receipt
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.record_models import RulesInfo
from hivegov_mcp.service.base import ServiceBase, reads, writes
from hivegov_mcp.store.base import StoredRules, Transaction


def _info(stored: StoredRules) -> RulesInfo:
    return RulesInfo(
        version=stored.version, hash=stored.hash, toml=stored.toml, created_at=stored.created_at, actor=stored.actor
    )


class RulesOperations(ServiceBase):
    async def adopt_rules(
        self, given: GovernanceConfig | None, *, source: str = "defaults", check: bool = True, store: bool = True
    ) -> RulesInfo | None:
        """On a database without rules, store `given` (or the defaults) as version 1 (when `store`);
        on one with rules, refuse `given` when it differs from the version in force (RulesMismatch)."""
        async with self.store.read() as tx:
            current = await tx.current_rules()
        if current is None and not store:
            return None
        if current is None:
            current = await self._adopt(given or GovernanceConfig(), source)
        if check and given is not None and rules_hash(given) != current.hash:
            raise RulesMismatch(source, rules_hash(given), current.hash, current.version, db=self.store.path)
        return _info(current)

    @writes
    async def _adopt(self, config: GovernanceConfig, source: str) -> StoredRules:
        async with self.store.write() as tx:
            current = await tx.current_rules()  # another process may have adopted meanwhile
            if current is None:
                current, _ = await self._store_rules(tx, LOCAL_ADMIN, config, source, None)
            return current

    @reads
    async def show_rules(self, actor: Agent | None = None) -> RulesInfo:
        async with self.store.read() as tx:
            current = await tx.current_rules()
        if current is None:
            config = GovernanceConfig()
            return RulesInfo(
                version=0,
                hash=rules_hash(config),
                toml=canonical_toml(config),
                created_at=self.clock.now(),
                actor="(defaults, not stored yet)",
            )
        return _info(current)

    @writes
    async def set_rules(
        self, actor: Agent, config: GovernanceConfig, *, source: str
    ) -> tuple[RulesInfo, Receipt | None]:
        """Store `config` as a new rules version (admin). Unchanged rules store nothing (receipt None).

        Votes already open keep the version they opened under; everything else follows the new one."""
        require(actor.id, "set_rules", actor.roles)
        async with self._begin(actor) as (tx, _):
            current = await tx.current_rules()
            if current is not None and current.hash == rules_hash(config):
                return _info(current), None
            stored, receipt = await self._store_rules(tx, actor, config, source, current)
        return _info(stored), receipt

    async def _store_rules(
        self, tx: Transaction, actor: Agent, config: GovernanceConfig, source: str, current: StoredRules | None
    ) -> tuple[StoredRules, Receipt]:
        """Store `config` as the version after `current` (the version in force, read in `tx`)."""
        now = self.clock.now()
        stored = StoredRules(
            version=(current.version if current else 0) + 1,
            toml=canonical_toml(config),
            hash=rules_hash(config),
            created_at=now,
            actor=actor.id,
        )
        await tx.insert_rules(stored)
        receipt = await tx.append_audit(
            at=now,
            actor=actor.id,
            action="rules_changed",
            subject="rules",
            payload={
                "version": stored.version,
                "hash": stored.hash,
                "previous_hash": current.hash if current else None,
                "source": source,
            },
        )
        return stored, receipt

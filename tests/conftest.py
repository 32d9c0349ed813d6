"""Shared fixtures: a real SQLite file per test, an injected clock, agents with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.app import open_service
from hivegov_mcp.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings

# id -> roles of the standard cast used across tests
CAST: dict[str, list[str]] = {
    "alice": ["proposer", "discussant"],
    "bob": ["discussant", "voter"],
    "carol": ["mediator", "voter"],
    "dave": ["discussant", "voter"],
    "erin": ["arbiter"],
    "root": ["admin"],
}


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hivegov.db"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> GovernanceConfig:
    return GovernanceConfig()


@pytest.fixture
async def service(db_path: Path, config: GovernanceConfig, clock: FakeClock) -> AsyncIterator[GovernanceService]:
    async with open_service(Settings(db=db_path, rules=config, clock=clock)) as svc:
        yield svc


class Cast:
    """The standard agents, registered: `cast.agents["bob"]`, `cast.tokens["bob"]`."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}
        self.tokens: dict[str, str] = {}

    def __getitem__(self, agent_id: str) -> Agent:
        return self.agents[agent_id]


@pytest.fixture
async def cast(service: GovernanceService) -> Cast:
    registered = Cast()
    for agent_id, roles in CAST.items():
        reg = await service.register_agent(LOCAL_ADMIN, agent_id, roles)
        registered.tokens[agent_id] = reg.token
        registered.agents[agent_id] = await service.authenticate(reg.token)
    return registered


PROPOSAL = {
    "title": "Adopt structured changelogs",
    "type": "process",
    "abstract": "Every release ships a machine-readable changelog.",
    "motivation": "Agents can't tell what changed between releases.",
    "specification": "Each release adds CHANGELOG entries with type, scope and summary.",
}

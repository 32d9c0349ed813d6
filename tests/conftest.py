"""Shared fixtures: a real SQLite file per test, an injected clock, agents with tokens."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from devtools import pgcluster
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.pg_helpers import MigratedSchemas

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


# -- both stores ---------------------------------------------------------------------------------
# A module marked `both_stores` runs each of its tests that use `db` (or `service`, `cast`) on
# SQLite and on PostgreSQL: the store contract. PostgreSQL comes from HIVEGOV_TEST_PG_URL, else a
# throwaway cluster started for the session; HIVEGOV_TEST_PG=0 skips it (and only that does).
both_stores = pytest.mark.both_stores


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames:
        marked = metafunc.definition.get_closest_marker
        kinds = ["sqlite", "postgresql"] if marked("both_stores") else ["sqlite"]
        if marked("postgres_only"):  # a PostgreSQL feature: there is no SQLite case to run
            kinds = ["postgresql"]
        metafunc.parametrize("store_kind", kinds)


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Defaults that land in the user's data folder (a PostgreSQL log's signing key) land in a
    temporary one."""
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if before is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = before


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if os.environ.get("HIVEGOV_TEST_PG") == "0":
        pytest.skip("PostgreSQL tests skipped: HIVEGOV_TEST_PG=0")
    given = os.environ.get("HIVEGOV_TEST_PG_URL")
    if given:
        yield given
        return
    cluster = pgcluster.start()  # RuntimeError naming the install step when PostgreSQL is missing
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty schema on the test server (not even migrated), as a URL whose search_path is
    that schema: for tests of what a first open or a copy does to an empty database."""
    server: str = request.getfixturevalue("pg_server")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in server else "?"
    yield f"{server}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def pg_schemas(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedSchemas]:
    schemas = MigratedSchemas(pg_server, tmp_path_factory.mktemp("pg-keys"))
    yield schemas
    schemas.close()


@pytest.fixture
def pg_empty_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated schema with no rows, as a URL whose search_path is that schema: migrated once
    and emptied after each test (tests/pg_helpers.py says how, and why not a new schema each time)."""
    schemas: MigratedSchemas = request.getfixturevalue("pg_schemas")
    schema = schemas.take()
    yield schemas.url(schema)
    schemas.give_back(schema)


@pytest.fixture
def db(store_kind: str, db_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """The database a test runs on: a SQLite file, or (both_stores) an empty PostgreSQL schema."""
    if store_kind == "postgresql":
        url: str = request.getfixturevalue("pg_empty_url")
        return url
    return db_path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> GovernanceConfig:
    return GovernanceConfig()


@pytest.fixture
async def service(
    db: Path | str, tmp_path: Path, config: GovernanceConfig, clock: FakeClock
) -> AsyncIterator[GovernanceService]:
    key = tmp_path / "signing.ed25519"
    async with open_service(Settings(db=db, rules=config, clock=clock, signing_key=key)) as svc:
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

"""Every domain error class, through every door's reading of it: its code, its HTTP status and
whether the caller is at fault (DESIGN §11)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mcp.types import INTERNAL_ERROR, INVALID_PARAMS

from hivegov_mcp.domain import errors as e
from hivegov_mcp.http.envelope import ERROR_RESPONSES, domain_error_response, error_classes
from hivegov_mcp.mcp.context import protocol_error

AT = datetime(2026, 12, 1, tzinfo=UTC)

# One instance of each class, with the status a REST caller gets and whether it is their fault.
SAMPLES: dict[type[e.HivegovError], tuple[e.HivegovError, int, bool]] = {
    e.HivegovError: (e.HivegovError("something"), 400, True),
    e.NotAuthenticated: (e.NotAuthenticated("no token"), 401, True),
    e.PermissionDenied: (e.PermissionDenied("bob", "close_voting", ["the mediator role"]), 403, True),
    e.ReadOnlyGrant: (e.ReadOnlyGrant("bob", "add_comment"), 403, True),
    e.NotEligible: (e.NotEligible("bob", "BIP-001"), 403, True),
    e.NotFound: (e.NotFound("proposal", "BIP-404"), 404, True),
    e.TransitionNotAllowed: (e.TransitionNotAllowed("BIP-001", "voting", "start_discussion"), 409, True),
    e.InvalidInput: (e.InvalidInput("title", "is empty"), 400, True),
    e.Conflict: (e.Conflict("agent bob exists"), 409, True),
    e.StaleVersion: (e.StaleVersion("BIP-001", 1, 2), 409, True),
    e.NoEligibleVoters: (e.NoEligibleVoters("BIP-001"), 409, True),
    e.NotNow: (e.NotNow("BIP-001", "claim_execution", "its appeal window is open"), 409, True),
    e.ObjectionsUnresolved: (e.ObjectionsUnresolved("BIP-001", [3]), 409, True),
    e.RateLimited: (e.RateLimited("bob", 120, AT, 7), 429, True),
    e.TooManyStreams: (e.TooManyStreams("8 streams open"), 429, True),
    e.ReadTooCostly: (e.ReadTooCostly(2.0), 400, True),
    e.ConfigError: (e.ConfigError("quorum", "must be at most 1"), 503, False),
    e.RulesMismatch: (e.RulesMismatch("rules.toml", "aa", "bb", 3), 503, False),
    e.StoreBusy: (e.StoreBusy("locked"), 503, False),
    e.StorageError: (e.StorageError("/x.db", "disk full"), 503, False),
    e.LogTampered: (e.LogTampered("/x.db", "seq 4 changed"), 503, False),
}


def test_every_error_class_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(error_classes())


def test_each_error_class_carries_its_own_code_status_and_fault() -> None:
    codes = [cls.code for cls in error_classes()]
    assert len(codes) == len(set(codes))
    for cls, (error, status, caller_fault) in SAMPLES.items():
        assert type(error) is cls
        assert (error.http_status, error.caller_fault) == (status, caller_fault), cls.__name__
        assert (status >= 500) is (not caller_fault), cls.__name__


def test_rest_answers_each_error_with_its_status_and_the_envelope_and_documents_it() -> None:
    for error, status, _ in SAMPLES.values():
        response = domain_error_response(error)
        assert response.status_code == status
        assert json.loads(bytes(response.body)) == {
            "error": {"code": error.code, "message": error.message, "hint": error.hint or None}
        }
        assert status in ERROR_RESPONSES
    assert domain_error_response(SAMPLES[e.RateLimited][0]).headers["Retry-After"] == "7"
    assert domain_error_response(SAMPLES[e.NotAuthenticated][0]).headers["WWW-Authenticate"].startswith("Bearer")


def test_mcp_answers_the_callers_mistakes_as_invalid_params_and_the_servers_trouble_as_internal() -> None:
    for error, _, caller_fault in SAMPLES.values():
        mapped = protocol_error(error)
        assert mapped.error.code == (INVALID_PARAMS if caller_fault else INTERNAL_ERROR), type(error).__name__
        assert mapped.error.message == str(error)

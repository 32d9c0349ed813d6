"""Governance configuration (DESIGN §4): parsed from TOML text, with per-type overrides.

Pure: `parse_config` takes the text; reading the file is the caller's job.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from hivegov_mcp.errors import ConfigError


class ProposalType(StrEnum):
    STANDARDS = "standards"
    INFORMATIONAL = "informational"
    PROCESS = "process"


class Visibility(StrEnum):
    AFTER_CLOSE = "after_close"
    LIVE = "live"


@dataclass(frozen=True)
class Rules:
    """The rules that apply to one proposal type."""

    discussion_minutes: float = 60
    min_discussion_minutes: float = 10
    max_discussion_minutes: float = 1440
    voting_minutes: float = 30
    min_voting_minutes: float = 5
    max_voting_minutes: float = 1440
    quorum: Fraction = Fraction(3, 5)
    approval_threshold: Fraction = Fraction(2, 3)
    min_justification_chars: int = 20
    max_revision_rounds: int = 3
    max_comments_per_agent: int = 50
    early_close: bool = True
    results_visibility: Visibility = Visibility.AFTER_CLOSE

    def discussion_range(self) -> tuple[float, float]:
        """The durations an agent may ask start_discussion for. The operator's own default is always
        allowed: a configured `discussion_minutes = 0.05` widens the range rather than failing."""
        lo, hi = self.min_discussion_minutes, self.max_discussion_minutes
        return min(lo, self.discussion_minutes), max(hi, self.discussion_minutes)


@dataclass(frozen=True)
class GovernanceConfig:
    id_prefix: str = "BIP"
    defaults: Rules = field(default_factory=Rules)
    per_type: Mapping[ProposalType, Rules] = field(default_factory=dict)

    def rules_for(self, proposal_type: ProposalType | str) -> Rules:
        return self.per_type.get(ProposalType(proposal_type), self.defaults)


_RULE_FIELDS = {f.name for f in fields(Rules)}


def parse_fraction(key: str, value: object) -> Fraction:
    """A float (0.6), an int (1) or a fraction string ("2/3"), in (0, 1]."""
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, float):
            frac = Fraction(str(value))
        elif isinstance(value, int | str):
            frac = Fraction(value)
        else:
            raise TypeError
    except (TypeError, ValueError, ZeroDivisionError):
        raise ConfigError(key, f'{value!r} is not a number or a fraction such as "2/3"') from None
    if not 0 < frac <= 1:
        raise ConfigError(key, f"{value!r} must be above 0 and at most 1")
    return frac


MAX_MINUTES = 10 * 365 * 24 * 60  # ten years: beyond that a deadline is a typo


def _minutes(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"{value!r} is not a number of minutes")
    if not 0 <= value <= MAX_MINUTES:  # also refuses nan and inf
        raise ConfigError(key, f"{value!r} must be between 0 and {MAX_MINUTES} minutes")
    return float(value)


def _count(key: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(key, f"{value!r} must be a whole number of at least {minimum}")
    return value


def _apply(base: Rules, table: Mapping[str, Any], where: str) -> Rules:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{where}.{key}"
        if key not in _RULE_FIELDS:
            raise ConfigError(path, f"unknown key; known keys are {', '.join(sorted(_RULE_FIELDS))}")
        if key.endswith("_minutes"):
            changes[key] = _minutes(path, value)
        elif key in ("quorum", "approval_threshold"):
            changes[key] = parse_fraction(path, value)
        elif key == "min_justification_chars":
            changes[key] = _count(path, value, minimum=0)
        elif key in ("max_revision_rounds", "max_comments_per_agent"):
            changes[key] = _count(path, value, minimum=1 if key == "max_comments_per_agent" else 0)
        elif key == "early_close":
            if not isinstance(value, bool):
                raise ConfigError(path, f"{value!r} must be true or false")
            changes[key] = value
        else:  # results_visibility
            try:
                changes[key] = Visibility(value)
            except ValueError:
                raise ConfigError(path, f"{value!r} must be one of after_close, live") from None
    rules = replace(base, **changes)
    for phase in ("discussion", "voting"):
        lo = getattr(rules, f"min_{phase}_minutes")
        hi = getattr(rules, f"max_{phase}_minutes")
        default = getattr(rules, f"{phase}_minutes")
        if lo > hi:
            raise ConfigError(f"{where}.min_{phase}_minutes", f"{lo} is above max_{phase}_minutes ({hi})")
        if default <= 0:
            raise ConfigError(f"{where}.{phase}_minutes", f"{default} must be above 0")
    return rules


def parse_config(text: str) -> GovernanceConfig:
    """Parse the TOML text of a configuration file; every key is optional."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("file", f"not valid TOML ({exc})") from None
    unknown = set(data) - {"governance"}
    if unknown:
        raise ConfigError(", ".join(sorted(unknown)), "unknown table; settings live under [governance]")
    if not isinstance(data.get("governance", {}), dict):
        raise ConfigError("governance", "must be a table: write [governance] on its own line")
    gov = dict(data.get("governance", {}))
    prefix = gov.pop("id_prefix", "BIP")
    if not isinstance(prefix, str) or not prefix.isalnum() or not 1 <= len(prefix) <= 10:
        raise ConfigError("governance.id_prefix", f"{prefix!r} must be 1-10 letters or digits")
    types = gov.pop("types", {})
    if not isinstance(types, dict):
        raise ConfigError("governance.types", "must be a table of tables, e.g. [governance.types.standards]")
    defaults = _apply(Rules(), gov, "governance")
    per_type: dict[ProposalType, Rules] = {}
    for name, table in types.items():
        try:
            kind = ProposalType(name)
        except ValueError:
            raise ConfigError(
                f"governance.types.{name}", "unknown proposal type; use standards, informational or process"
            ) from None
        if not isinstance(table, dict):
            raise ConfigError(f"governance.types.{name}", "must be a table")
        per_type[kind] = _apply(defaults, table, f"governance.types.{name}")
    return GovernanceConfig(id_prefix=prefix.upper(), defaults=defaults, per_type=per_type)

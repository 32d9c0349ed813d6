"""Governance rules (DESIGN §4): parsed from TOML text, with per-type overrides.

Pure: `parse_config` takes the text; reading the file is the caller's job. `canonical_toml`
writes every rule in a fixed order (per-type tables only where they differ from the
defaults), so two files that mean the same rules have the same `rules_hash`: that is what
the database stores as a rules version and what a process's `--config` is compared with.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.domain.tally import fraction_text


class ProposalType(StrEnum):
    STANDARDS = "standards"
    INFORMATIONAL = "informational"
    PROCESS = "process"


class Visibility(StrEnum):
    AFTER_CLOSE = "after_close"
    LIVE = "live"


class DecisionMethod(StrEnum):
    """How a proposal type is decided (DESIGN §20). The option methods (approval, score, ranked,
    ranked_irv) vote on a proposal's options (`OPTION_METHODS`)."""

    MAJORITY = "majority"  # a vote: approve, reject or abstain, under quorum and threshold
    CONSENT = "consent"  # no vote: approved when its discussion ends with no unresolved objection
    APPROVAL = "approval"  # approve any set of options; the most weight wins
    SCORE = "score"  # score every option 0-5; the highest weighted mean wins
    RANKED = "ranked"  # rank options; the Schulze winner wins
    RANKED_IRV = "ranked_irv"  # rank options; instant-runoff

    @property
    def votes_on_options(self) -> bool:
        return self in OPTION_METHODS


OPTION_METHODS = frozenset(
    {DecisionMethod.APPROVAL, DecisionMethod.SCORE, DecisionMethod.RANKED, DecisionMethod.RANKED_IRV}
)


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
    # After the vote (DESIGN §15): stored and versioned now; the appeal, execution and
    # validation steps that read them come with those features.
    appeal_window_minutes: float = 60
    execution_lease_minutes: float = 60
    max_execution_attempts: int = 3
    require_validation: bool = False
    method: DecisionMethod = DecisionMethod.MAJORITY

    def discussion_range(self) -> tuple[float, float]:
        """The durations an agent may ask start_discussion for. The operator's own default is always
        allowed: a configured `discussion_minutes = 0.05` widens the range rather than failing."""
        lo, hi = self.min_discussion_minutes, self.max_discussion_minutes
        return min(lo, self.discussion_minutes), max(hi, self.discussion_minutes)


DEFAULT_WRITES_PER_MINUTE = 120


@dataclass(frozen=True)
class GovernanceConfig:
    id_prefix: str = "BIP"
    writes_per_agent_per_minute: int = DEFAULT_WRITES_PER_MINUTE
    defaults: Rules = field(default_factory=Rules)
    per_type: Mapping[ProposalType, Rules] = field(default_factory=dict)

    def rules_for(self, proposal_type: ProposalType | str) -> Rules:
        return self.per_type.get(ProposalType(proposal_type), self.defaults)


_RULE_FIELDS = {f.name for f in fields(Rules)}
GLOBAL_KEYS = ("id_prefix", "writes_per_agent_per_minute")


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
        if key in GLOBAL_KEYS:
            raise ConfigError(path, "applies to the whole governance; set it under [governance]")
        if key not in _RULE_FIELDS:
            known = sorted({*_RULE_FIELDS, *GLOBAL_KEYS})
            raise ConfigError(path, f"unknown key; known keys are {', '.join(known)}")
        if key.endswith("_minutes"):
            changes[key] = _minutes(path, value)
        elif key in ("quorum", "approval_threshold"):
            changes[key] = parse_fraction(path, value)
        elif key == "min_justification_chars":
            changes[key] = _count(path, value, minimum=0)
        elif key in ("max_revision_rounds", "max_comments_per_agent", "max_execution_attempts"):
            changes[key] = _count(path, value, minimum=0 if key == "max_revision_rounds" else 1)
        elif key in ("early_close", "require_validation"):
            if not isinstance(value, bool):
                raise ConfigError(path, f"{value!r} must be true or false")
            changes[key] = value
        elif key == "method":
            try:
                changes[key] = DecisionMethod(value)
            except ValueError:
                names = ", ".join(m.value for m in DecisionMethod)
                raise ConfigError(path, f"{value!r} is not a decision method: use one of {names}") from None
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
    if rules.execution_lease_minutes <= 0:
        raise ConfigError(f"{where}.execution_lease_minutes", f"{rules.execution_lease_minutes} must be above 0")
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
    if not isinstance(prefix, str) or not prefix.isascii() or not prefix.isalnum() or not 1 <= len(prefix) <= 10:
        raise ConfigError("governance.id_prefix", f"{prefix!r} must be 1-10 letters or digits")
    writes = _count(
        "governance.writes_per_agent_per_minute",
        gov.pop("writes_per_agent_per_minute", DEFAULT_WRITES_PER_MINUTE),
        minimum=1,
    )
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
    return GovernanceConfig(
        id_prefix=prefix.upper(), writes_per_agent_per_minute=writes, defaults=defaults, per_type=per_type
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Fraction):
        return f'"{fraction_text(value)}"'
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _normal(name: str, value: object) -> object:
    """Minutes are floats whatever the file wrote (60 and 60.0 are the same rule)."""
    return float(value) if name.endswith("_minutes") and isinstance(value, int | float) else value


def _rule_lines(rules: Rules, *, unlike: Rules | None = None) -> list[str]:
    """Every rule (or those unlike `unlike`'s). `method` is written only when it is not majority,
    so the rules stored before methods existed keep their hash."""
    return [
        f"{f.name} = {_toml_value(_normal(f.name, getattr(rules, f.name)))}"
        for f in fields(Rules)
        if (unlike is None or getattr(rules, f.name) != getattr(unlike, f.name))
        and not (f.name == "method" and unlike is None and rules.method is DecisionMethod.MAJORITY)
    ]


def canonical_toml(config: GovernanceConfig) -> str:
    """Every rule, in a fixed order; per-type tables hold only what differs from the defaults.

    `parse_config(canonical_toml(c)) == c` up to per-type tables equal to the defaults, which
    mean nothing and are left out."""
    lines = [
        "[governance]",
        f"id_prefix = {_toml_value(config.id_prefix)}",
        f"writes_per_agent_per_minute = {config.writes_per_agent_per_minute}",
        *_rule_lines(config.defaults),
    ]
    for kind in ProposalType:
        rules = config.per_type.get(kind)
        differs = _rule_lines(rules, unlike=config.defaults) if rules is not None else []
        if differs:
            lines += ["", f"[governance.types.{kind.value}]", *differs]
    return "\n".join(lines) + "\n"


def rules_hash(config: GovernanceConfig) -> str:
    """SHA-256 of the canonical TOML: equal for any two files that mean the same rules."""
    return hashlib.sha256(canonical_toml(config).encode()).hexdigest()

"""Governance configuration (DESIGN §4): TOML text, per-type overrides, exact fractions."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from hivegov_mcp.domain.config import (
    GovernanceConfig,
    ProposalType,
    Rules,
    Visibility,
    parse_config,
    parse_fraction,
)
from hivegov_mcp.domain.errors import ConfigError

DESIGN_EXAMPLE = """
[governance]
id_prefix = "BIP"
discussion_minutes = 60        # default window; the seed's range is 10-60
min_discussion_minutes = 10
max_discussion_minutes = 1440
voting_minutes = 30            # the seed's range is 5-30
min_voting_minutes = 5
max_voting_minutes = 1440
quorum = 0.6                   # a float, or a fraction string such as "3/5"
approval_threshold = "2/3"
min_justification_chars = 20
max_revision_rounds = 3
max_comments_per_agent = 50    # per round
early_close = true
results_visibility = "after_close"
appeal_window_minutes = 60     # after resolution, before execution may start
execution_lease_minutes = 60   # an executor's claim expires after this
max_execution_attempts = 3
require_validation = false     # a validator's pass is needed before voting (§15)
writes_per_agent_per_minute = 120

[governance.types.standards]
approval_threshold = "3/4"
require_validation = true
"""


def test_an_empty_file_gives_the_defaults() -> None:
    assert parse_config("") == GovernanceConfig()


def test_the_defaults_are_those_of_the_design() -> None:
    assert Rules() == Rules(
        discussion_minutes=60,
        min_discussion_minutes=10,
        max_discussion_minutes=1440,
        voting_minutes=30,
        min_voting_minutes=5,
        max_voting_minutes=1440,
        quorum=Fraction(3, 5),
        approval_threshold=Fraction(2, 3),
        min_justification_chars=20,
        max_revision_rounds=3,
        max_comments_per_agent=50,
        early_close=True,
        results_visibility=Visibility.AFTER_CLOSE,
    )
    assert GovernanceConfig().id_prefix == "BIP"


def test_the_example_of_the_design_parses() -> None:
    assert parse_config(DESIGN_EXAMPLE) == GovernanceConfig(
        id_prefix="BIP",
        defaults=Rules(),
        per_type={ProposalType.STANDARDS: replace(Rules(), approval_threshold=Fraction(3, 4), require_validation=True)},
    )


def test_the_write_limit_is_set_for_the_whole_governance_not_per_type() -> None:
    assert parse_config("[governance]\nwrites_per_agent_per_minute = 7\n").writes_per_agent_per_minute == 7
    with pytest.raises(ConfigError, match="applies to the whole governance"):
        parse_config("[governance.types.process]\nwrites_per_agent_per_minute = 7\n")
    with pytest.raises(ConfigError, match="at least 1"):
        parse_config("[governance]\nwrites_per_agent_per_minute = 0\n")


def test_a_quorum_of_0_6_parses_to_exactly_three_fifths() -> None:
    rules = parse_config("[governance]\nquorum = 0.6\n").defaults
    assert rules.quorum == Fraction(3, 5)
    assert isinstance(rules.quorum, Fraction)


def test_a_threshold_given_as_a_fraction_string_is_exact() -> None:
    assert parse_config('[governance]\napproval_threshold = "3/4"\n').defaults.approval_threshold == Fraction(3, 4)


def test_a_threshold_given_as_a_decimal_string_is_exact() -> None:
    assert parse_config('[governance]\napproval_threshold = "0.75"\n').defaults.approval_threshold == Fraction(3, 4)


def test_a_quorum_of_one_means_everyone() -> None:
    assert parse_config("[governance]\nquorum = 1\n").defaults.quorum == Fraction(1)


def test_a_per_type_override_for_standards_inherits_the_other_defaults() -> None:
    config = parse_config(
        """
[governance]
quorum = "1/2"
voting_minutes = 10
early_close = false

[governance.types.standards]
approval_threshold = "3/4"
"""
    )
    defaults = Rules(quorum=Fraction(1, 2), voting_minutes=10, early_close=False)
    assert config == GovernanceConfig(
        defaults=defaults,
        per_type={ProposalType.STANDARDS: replace(defaults, approval_threshold=Fraction(3, 4))},
    )
    assert config.rules_for("standards") == replace(defaults, approval_threshold=Fraction(3, 4))
    assert config.rules_for(ProposalType.INFORMATIONAL) == defaults
    assert config.rules_for("process") == defaults


def test_a_per_type_override_can_widen_the_minute_range() -> None:
    config = parse_config("[governance.types.process]\nmin_voting_minutes = 1\nvoting_minutes = 2\n")
    assert config.rules_for("process") == Rules(min_voting_minutes=1, voting_minutes=2)
    assert config.defaults == Rules()


def test_fractional_minutes_are_accepted_when_the_minimum_is_lowered() -> None:
    rules = parse_config(
        """
[governance]
discussion_minutes = 0.05
min_discussion_minutes = 0.01
voting_minutes = 0.05
min_voting_minutes = 0
"""
    ).defaults
    assert rules == Rules(
        discussion_minutes=0.05, min_discussion_minutes=0.01, voting_minutes=0.05, min_voting_minutes=0
    )


def test_the_id_prefix_is_upper_cased() -> None:
    assert parse_config('[governance]\nid_prefix = "hip"\n').id_prefix == "HIP"


def test_live_results_can_be_chosen() -> None:
    assert parse_config('[governance]\nresults_visibility = "live"\n').defaults.results_visibility is Visibility.LIVE


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[governance]\nquorom = 0.5", "governance.quorom"),
        ("[governance.types.standards]\nthreshold = 0.5", "governance.types.standards.threshold"),
        ("[governance.types.standards]\nid_prefix = 'STD'", "governance.types.standards.id_prefix"),
        ("[governance.types.experimental]\nquorum = 0.5", "governance.types.experimental"),
        ("[server]\nport = 8000", "server"),
        ("[governance.types]\nstandards = 3", "governance.types.standards"),
    ],
)
def test_unknown_keys_raise_a_config_error_naming_the_key(toml: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(toml)
    assert info.value.key == key
    assert str(info.value).startswith(f"Configuration error at {key}: ")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("quorum = 0", "governance.quorum"),
        ("quorum = 1.5", "governance.quorum"),
        ("quorum = -0.5", "governance.quorum"),
        ('quorum = "most"', "governance.quorum"),
        ('quorum = "1/0"', "governance.quorum"),
        ('quorum = "4/3"', "governance.quorum"),
        ("quorum = true", "governance.quorum"),
        ("quorum = nan", "governance.quorum"),
        ("quorum = [1, 2]", "governance.quorum"),
        ("approval_threshold = 0.0", "governance.approval_threshold"),
        ("approval_threshold = 2", "governance.approval_threshold"),
        ('discussion_minutes = "ten"', "governance.discussion_minutes"),
        ("discussion_minutes = true", "governance.discussion_minutes"),
        ("min_voting_minutes = -1", "governance.min_voting_minutes"),
        ("max_discussion_minutes = 1979-05-27", "governance.max_discussion_minutes"),
        ("min_justification_chars = -1", "governance.min_justification_chars"),
        ("min_justification_chars = 2.5", "governance.min_justification_chars"),
        ("max_revision_rounds = -1", "governance.max_revision_rounds"),
        ("max_revision_rounds = true", "governance.max_revision_rounds"),
        ("max_comments_per_agent = 0", "governance.max_comments_per_agent"),
        ('early_close = "yes"', "governance.early_close"),
        ("early_close = 1", "governance.early_close"),
        ('results_visibility = "sometimes"', "governance.results_visibility"),
        ("results_visibility = 1", "governance.results_visibility"),
        ('id_prefix = "B-P"', "governance.id_prefix"),
        ('id_prefix = ""', "governance.id_prefix"),
        ('id_prefix = "ABCDEFGHIJK"', "governance.id_prefix"),
        ("id_prefix = 7", "governance.id_prefix"),
    ],
)
def test_bad_values_raise_a_config_error_naming_the_key(line: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"[governance]\n{line}\n")
    assert info.value.key == key
    assert key in str(info.value)


def test_a_bad_value_in_a_type_table_names_the_type_table() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[governance.types.informational]\nquorum = 2\n")
    assert info.value.key == "governance.types.informational.quorum"


def test_zero_revision_rounds_and_zero_justification_are_allowed() -> None:
    rules = parse_config("[governance]\nmax_revision_rounds = 0\nmin_justification_chars = 0\n").defaults
    assert (rules.max_revision_rounds, rules.min_justification_chars) == (0, 0)


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[governance]\nmax_discussion_minutes = 5", "governance.min_discussion_minutes"),
        ("[governance]\nmin_voting_minutes = 1441", "governance.min_voting_minutes"),
        ("[governance.types.process]\nmax_voting_minutes = 1", "governance.types.process.min_voting_minutes"),
    ],
)
def test_a_minimum_above_its_maximum_raises(toml: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(toml)
    assert info.value.key == key
    assert "above max" in info.value.problem


def test_a_zero_default_window_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[governance]\nmin_voting_minutes = 0\nvoting_minutes = 0\n")
    assert info.value.key == "governance.voting_minutes"


def test_an_operator_default_outside_min_max_widens_the_range_agents_may_ask_for() -> None:
    rules = parse_config("[governance]\ndiscussion_minutes = 0.05\nvoting_minutes = 0.05\n").defaults
    assert (rules.discussion_minutes, rules.voting_minutes) == (0.05, 0.05)
    assert rules.discussion_range() == (0.05, 1440)
    assert parse_config("[governance]\ndiscussion_minutes = 2000\n").defaults.discussion_range() == (10, 2000)


def test_the_default_window_may_sit_on_either_bound() -> None:
    rules = parse_config("[governance]\ndiscussion_minutes = 10\nvoting_minutes = 1440\n").defaults
    assert (rules.discussion_minutes, rules.voting_minutes) == (10, 1440)


def test_invalid_toml_raises_a_config_error_about_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[governance\nquorum = ")
    assert info.value.key == "file"
    assert "not valid TOML" in info.value.problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.6, Fraction(3, 5)),
        (1, Fraction(1)),
        ("2/3", Fraction(2, 3)),
        ("0.75", Fraction(3, 4)),
        (0.1, Fraction(1, 10)),
    ],
)
def test_parse_fraction_is_exact(value: object, expected: Fraction) -> None:
    assert parse_fraction("k", value) == expected


@pytest.mark.parametrize("value", [0, 0.0, -1, 1.01, "x", "1/0", True, None, float("inf")])
def test_parse_fraction_refuses_values_outside_zero_to_one(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_fraction("governance.quorum", value)
    assert info.value.key == "governance.quorum"


def test_a_types_key_that_is_not_a_table_raises_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[governance]\ntypes = 5\n")
    assert info.value.key == "governance.types"


def test_a_governance_key_that_is_not_a_table_raises_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("governance = 5\n")
    assert info.value.key == "governance"


def test_infinite_minutes_are_refused() -> None:
    with pytest.raises(ConfigError):
        parse_config("[governance]\nvoting_minutes = inf\nmax_voting_minutes = inf\n")

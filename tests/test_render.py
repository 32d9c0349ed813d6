"""Search snippets: the first matches in brackets, in one scan of the text."""

from __future__ import annotations

from hivegov_mcp.domain.render import snippet


def test_a_snippet_brackets_the_first_matches_with_a_few_words_before() -> None:
    text = "Every release ships a machine-readable changelog entry with type, scope and a one-line summary of it all."
    assert snippet(("Adopt changelogs", text), ["machines", "changelogs"]) == "Adopt [changelogs]"
    assert snippet(("", text), ["machines", "changelogs"]) == (
        "…release ships a [machine] readable [changelog] entry with type scope and a one line summary of…"
    )
    assert snippet(("", "one two machine"), ["machine"]) == "one two [machine]"
    assert snippet(("", "nothing to see"), ["absent"]) == "nothing to see"


def test_a_snippet_costs_one_scan_however_many_terms_match_everywhere() -> None:
    body = " ".join(f"w{i % 16}" for i in range(30_000))
    shown = snippet(("", body), [f"w{n}" for n in range(16)])
    assert shown.startswith("[w0] [w1] [w2]") and shown.count("[") == 16


def test_a_snippet_brackets_words_of_the_same_stem_not_every_word_that_begins_alike() -> None:
    assert snippet(("", "The category of cats is here"), ["cat"]) == "The category of [cats] is here"
    assert snippet(("", "The governing body"), ["governance"]) == "The [governing] body"


def test_a_word_cut_by_the_window_edge_is_left_out() -> None:
    text = "xx" + "governance " + "q" * 108 + " governance"
    assert snippet(("", text), ["governance"]) == "…" + "q" * 108 + " [governance]"

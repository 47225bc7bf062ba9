"""bot.domain.flag_targeting: what deploybot says of flagd targeting rules — the operators,
one rule per condition of an `if` chain (nested chains counted), and the literals a rule can
return with `$ref`s followed into `$evaluators` (a cycle followed once)."""

from __future__ import annotations

from bot.domain.flag_targeting import literals, operators, rule_count

FRACTIONAL = {"fractional": [{"var": "email"}, ["red", 50], ["green", 50]]}


def test_an_if_chain_counts_its_conditions_and_a_nested_chain_its_own() -> None:
    assert rule_count({"if": [{"==": [1, 1]}, "a", {"==": [2, 2]}, "b", "c"]}) == 2
    assert rule_count({"if": [{"==": [1, 1]}, "a",
                              {"if": [{"==": [2, 2]}, "b", {"in": ["x", ["x"]]}, "c", None]}]}
                      ) == 3
    assert rule_count(FRACTIONAL) == 1
    assert rule_count({}) == 0


def test_operators_leave_var_out() -> None:
    assert list(dict.fromkeys(operators({"if": [{"in": [{"var": "plan"}, ["beta"]]},
                                                FRACTIONAL, None]}))) == [
        "if", "in", "fractional"]


def test_literals_follow_refs_once_and_skip_context_names() -> None:
    evaluators = {"beta": {"if": [{"in": [{"var": "plan"}, ["beta"]]}, "on", {"$ref": "loop"}]},
                  "loop": {"$ref": "beta"}}
    assert set(literals({"$ref": "beta"}, evaluators)) == {"on", "beta"}
    assert "email" not in set(literals(FRACTIONAL, {}))
    assert {"red", "green"} <= set(literals(FRACTIONAL, {}))

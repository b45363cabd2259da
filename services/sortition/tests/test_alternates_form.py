"""The alternates form: counts in range, rates in per cent with either decimal mark, at least one
rate above 0, the confirmation; the groups are the strata's quotas without intersectional ones."""

from services.sortition.domain.alternates_form import quota_groups, read_alternates_form

GROUPS = [("gender", "female"), ("gender", "male"), ("age", "18-39")]


def test_groups_are_the_strata_quotas_once_each_without_intersectional_ones():
    quotas = [{"category": "gender", "value": "female"}, {"category": "gender", "value": "male"},
              {"category": "gender", "value": "female"},
              {"category": "age", "value": "18-39", "within": "gender=female"}, {"category": "age", "value": "18-39"}]
    assert quota_groups(quotas) == GROUPS


def test_a_good_form_gives_the_handlers_values():
    values, problems = read_alternates_form({"count": "4", "rate_0": "15", "rate_2": "12,5 %", "rate_1": "",
                                             "confirm": "true"}, GROUPS)
    assert problems == []
    assert values == {"count": 4, "scenarios": 40, "rates": [
        {"category": "gender", "value": "female", "rate": 0.15}, {"category": "age", "value": "18-39", "rate": 0.125}]}


def test_each_problem_is_named_beside_its_field():
    _, problems = read_alternates_form({"count": "0", "scenarios": "500", "rate_0": "100", "rate_1": "x"}, GROUPS)
    assert problems == [("count", "count"), ("scenarios", "scenarios"), ("rate_0", "rate"), ("rate_1", "rate"),
                        ("confirm", "confirm")]
    _, problems = read_alternates_form({"count": "2", "rate_0": "0", "confirm": "true"}, GROUPS)
    assert problems == [("rates", "rates")]

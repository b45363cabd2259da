"""The registration questionnaire's rules (domain/questionnaire.py): what may be configured, and
what a registration must answer."""

from services.recruitment.domain.contact import as_text, contact_details, contact_problems, from_text
from services.recruitment.domain.questionnaire import (PREFER_NOT_TO_SAY, answer_problems, default_config, english,
                                                       read_config, stratum_options)

STRATA = [
    {"category": "region", "quotas": [{"value": "N", "min": 0, "max": 4}]},
    {"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 3}, {"value": "male", "min": 1, "max": 3},
                                      {"value": PREFER_NOT_TO_SAY, "min": 0, "max": 1}]},
    {"category": "age", "quotas": [{"value": "18-39", "min": 0, "max": 4}, {"value": "40+", "min": 0, "max": 4}]},
]
TRUST = {"key": "trust", "label": {"da": "Tillid?", "en": "Trust?"},
         "options": [{"value": "1", "label": {"da": "Høj", "en": "High"}}, {"value": "2", "label": {"da": "Lav", "en": "Low"}}]}


def body(**over):
    return {"strata": [{"category": "gender", "label": {"da": "Hvilket køn?", "en": "Which gender?"},
                        "prefer_not_to_say": True}, {"category": "age"}],
            "attitudes": [TRUST], "needs": ["diet", "language"], "contact": True, **over}


def test_the_default_asks_the_mandates_categories_but_region_and_nothing_else():
    config = default_config(STRATA)
    assert [q["category"] for q in config["strata"]] == ["gender", "age"]
    assert not any(q["prefer_not_to_say"] for q in config["strata"])
    assert (config["attitudes"], config["needs"], config["contact"]) == ([], [], False)


def test_a_questionnaire_is_read_and_normalised():
    config, problems = read_config(STRATA, body())
    assert problems == []
    assert config["strata"][0] == {"category": "gender", "label": {"da": "Hvilket køn?", "en": "Which gender?"},
                                   "prefer_not_to_say": True}
    assert config["strata"][1] == {"category": "age", "label": {}, "prefer_not_to_say": False}
    assert config["needs"] == ["language", "diet"]  # in the catalogue's order
    assert config["attitudes"][0]["options"][1] == {"value": "2", "label": {"da": "Lav", "en": "Low"}}


def test_prefer_not_to_say_only_where_the_mandate_has_a_quota_for_it():
    _config, problems = read_config(STRATA, body(strata=[{"category": "gender"},
                                                         {"category": "age", "prefer_not_to_say": True}]))
    assert problems == [("prefer_age", "prefer_not_outside_mandate", {"category": "age"})]
    assert "add one (with its minimum and maximum) first" in english(problems)[0]["problem"]


def test_every_problem_is_named():
    bad_attitude = {"key": "Gender", "label": {"da": "x"}, "options": [{"value": "1", "label": {"da": "a", "en": "a"}}]}
    _config, problems = read_config(STRATA, body(strata=[{"category": "gender", "label": {"da": "x" * 201}}],
                                                 attitudes=[bad_attitude, {**TRUST, "key": "age"}], needs=["pets"]))
    kinds = [(f, k) for f, k, _v in problems]
    assert kinds == [("strata", "categories"), ("label_da_gender", "label_too_long"), ("att_key_0", "attitude_key"),
                     ("att_label_0", "attitude_label"), ("att_options_0", "attitude_options"),
                     ("att_key_1", "attitude_key_taken"), ("needs", "needs")]


def test_strata_questions_need_an_explicit_answer_prefer_not_to_say_only_where_offered():
    config, _ = read_config(STRATA, body())
    assert stratum_options(STRATA, config["strata"][0]) == ["female", "male", PREFER_NOT_TO_SAY]  # last
    assert stratum_options(STRATA, config["strata"][1]) == ["18-39", "40+"]
    ok = {"gender": PREFER_NOT_TO_SAY, "age": "40+"}
    assert answer_problems(STRATA, config, ok, {}, {}) == []
    assert answer_problems(STRATA, config, {"gender": "", "age": PREFER_NOT_TO_SAY}, {}, {}) == [
        ("q_gender", "missing"), ("q_age", "unknown")]
    assert answer_problems(STRATA, config, {**ok, "region": "N"}, {}, {}) == [("q_region", "not_asked")]
    # without the option offered, the mandate's value is not an answer either
    plain, _ = read_config(STRATA, body(strata=[{"category": "gender"}, {"category": "age"}]))
    assert answer_problems(STRATA, plain, ok, {}, {}) == [("q_gender", "unknown")]


def test_attitudes_are_optional_and_needs_are_short_texts_of_the_needs_asked():
    config, _ = read_config(STRATA, body())
    answers = {"gender": "female", "age": "18-39"}
    assert answer_problems(STRATA, config, answers, {"trust": "2"}, {"diet": "vegetar"}) == []
    assert answer_problems(STRATA, config, answers, {"trust": "9", "mood": "1"},
                           {"diet": "x" * 301, "childcare": "ja"}) == [
        ("a_trust", "unknown"), ("a_mood", "not_asked"), ("need_diet", "too_long"), ("need_childcare", "not_asked")]


def test_contact_details_are_optional_but_well_formed():
    assert contact_problems("", "") == [] and contact_problems(None, None) == [] and as_text(None, "") is None
    assert contact_problems("ase@example.org", "+45 12 34 56 78") == []
    assert as_text("ase@example.org", "12345678") == "ase@example.org · 12345678"
    assert contact_problems("ase@", "ring mig") == [("email", "malformed"), ("phone", "malformed")]
    assert contact_problems("a" * 190 + "@example.org", "1" * 31) == [("email", "malformed"), ("phone", "malformed")]
    assert [d["field"] for d in contact_details([("phone", "malformed")])] == ["phone"]


def test_an_old_free_text_contact_is_read_into_e_mail_phone_and_a_note():
    assert from_text("ase@example.org · 12 34 56 78") == ("ase@example.org", "12 34 56 78", None)  # the old form's
    assert from_text("+45 12345678, ase@example.org") == ("ase@example.org", "+45 12345678", None)  # the API's
    assert from_text("ase@example.org") == ("ase@example.org", None, None)
    assert from_text("ring efter kl. 16; 12345678") == (None, "12345678", "ring efter kl. 16")
    assert from_text("") == (None, None, None) and from_text(None) == (None, None, None)


def test_the_apis_words_name_the_allowed_answers():
    from services.recruitment.domain.questionnaire import answer_details

    config, _ = read_config(STRATA, body())
    answers = {"gender": "x", "trust": "9"}
    problems = answer_problems(STRATA, config, {"gender": "x"}, {"trust": "9"}, {"pets": "cat"})
    assert answer_details(STRATA, config, answers, problems) == [
        {"field": "answers.gender", "problem": f"'x' is not one of female, male, {PREFER_NOT_TO_SAY}"},
        {"field": "answers.age", "problem": "missing; one of 18-39, 40+"},
        {"field": "attitudes.trust", "problem": "'9' is not one of 1, 2"},
        {"field": "needs.pets", "problem": "not a question of this assembly"}]

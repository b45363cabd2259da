"""The staff screens' pure parts: the assembly form read from its rows, the register extract's
validation report, and registrations per stratum against the quotas."""

from services.recruitment.domain.assembly_form import read_assembly_form, rows
from services.recruitment.domain.register import check_register_csv
from services.recruitment.domain.replies import count_features, stratum_report

FORM = {"name": " Klima ", "panel_size": "4",
        "region_code_0": "N", "region_name_0": "Nord", "region_population_0": "1.300",
        "quota_category_0": "gender", "quota_value_0": "female", "quota_min_0": "1", "quota_max_0": "3",
        "quota_category_1": "gender", "quota_value_1": "male", "quota_min_1": "1", "quota_max_1": "3",
        "quota_category_2": "age", "quota_value_2": "", "quota_min_2": "", "quota_max_2": ""}  # a category alone is no row


def test_the_assembly_form_reads_rows_into_the_apis_shape():
    read = read_assembly_form(FORM, region_rows=3, quota_rows=3)
    assert read.problems == []
    assert read.body == {"name": "Klima", "panel_size": 4,
                         "regions": [{"code": "N", "name": "Nord", "population": 1300}],
                         "strata": [{"category": "gender", "quotas": [{"value": "female", "min": 1, "max": 3},
                                                                      {"value": "male", "min": 1, "max": 3}]}]}


def test_the_assembly_form_keeps_the_names_given_to_values_and_labels_use_them_per_language():
    from shared.ui.i18n import label, translations

    read = read_assembly_form({**FORM, "quota_da_1": " Mand ", "quota_en_1": ""}, region_rows=1, quota_rows=3)
    female, male = read.body["strata"][0]["quotas"]
    assert "labels" not in female and male["labels"] == {"da": "Mand"}
    strata = [{"category": "housing", "quotas": [{"value": "coop", "min": 0, "max": 1,
                                                   "labels": {"da": "Andelsbolig", "en": "Housing co-operative"}}]}]
    da, en = translations("da").gettext, translations("en").gettext
    assert label(da, "housing", "coop", None, strata, "da") == "Andelsbolig"
    assert label(en, "housing", "coop", None, strata, "en") == "Housing co-operative"
    assert label(en, "housing", "coop") == "Coop"  # without the assembly's names: the code made readable
    assert label(en, "gender", "female", None, strata, "en") == "Woman"  # no name given: the catalogue's
    assert read_assembly_form({**FORM, "quota_en_0": "x" * 101}, 1, 3).problems == [("quota_en_0", "quota_name", {"row": 1})]


def test_the_assembly_form_names_each_problem_by_field_and_checks_the_mandate_last():
    bad = {**FORM, "name": "", "panel_size": "0", "region_code_0": "N Ø", "quota_max_1": "x"}
    kinds = [(f, k) for f, k, _v in read_assembly_form(bad, 3, 3).problems]
    assert kinds == [("name", "name_missing"), ("panel_size", "panel_size"), ("region_code_0", "region_code"),
                     ("quota_max_1", "quota_max")]
    too_high = read_assembly_form({**FORM, "quota_min_0": "4"}, 3, 3).problems
    assert ("quotas", "min_above_max", {"category": "gender", "value": "female", "min": 4, "max": 3}) in too_high
    assert ("quotas", "minimums_too_high", {"category": "gender", "sum": 5, "panel_size": 4}) in too_high
    assert [k for _f, k, _v in read_assembly_form({"name": "x", "panel_size": "3"}, 2, 2).problems] == ["no_regions", "no_quotas"]


def test_the_row_count_is_kept_within_bounds():
    assert rows({"n": "7"}, "n", 10, 1) == 7 and rows({"n": "999"}, "n", 10, 1) == 10
    assert rows({"n": "-4"}, "n", 10, 1) == 1 and rows({}, "n", 10, 3) == 3 and rows({"n": "x"}, "n", 10, 2) == 2


def test_the_register_extract_report_lists_every_problem_without_personal_data():
    text = "person_id,name,address,region\n1,Ada,Vej 1,A\n2,,Vej 2,A\n3,Bo,Vej 3,Q\n1,Cy,Vej 4,A\n4,Di,Vej 5,A\n"
    rows_, problems = check_register_csv(text, {"A"})
    assert [(p.kind, p.line, p.value) for p in problems] == [("empty_field", 3, ""), ("unknown_region", 4, "Q"),
                                                             ("duplicate_person", 5, "")]
    assert [r["person_ref"] for r in rows_] == ["1", "4"]
    assert len(check_register_csv("person_id,name,address,region\n" + ",,,\n" * 80, {"A"}, limit=50)[1]) == 50
    assert [p.kind for p in check_register_csv("person_id,name,address,region\n", {"A"})[1]] == ["no_rows"]


def test_registrations_per_stratum_say_which_groups_cannot_fill_their_quota():
    strata = [{"category": "gender", "quotas": [{"value": "female", "min": 2, "max": 3}, {"value": "male", "min": 1, "max": 3}]}]
    counts = count_features([{"gender": "male", "region": "N"}] * 5 + [{"gender": "female", "region": "N"}])
    assert counts == {"gender": {"male": 5, "female": 1}, "region": {"N": 6}}
    [(category, (female, male))] = stratum_report(strata, 4, counts, 6)
    assert category == "gender"
    assert (female.registrations, female.status, female.quota_min_share) == (1, "short", 0.5)
    assert (male.registrations, male.status, round(male.share, 3)) == (5, "ok", 0.833)
    low = stratum_report(strata, 4, {"gender": {"female": 2, "male": 30}}, 32)[0][1][0]
    assert low.status == "low"  # enough to fill the minimum, but a smaller share than the quota's
    assert stratum_report(strata, 4, {}, 0)[0][1][1].status == "short"

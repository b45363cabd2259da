"""Recruitment's rules without I/O: letters per region, the sample, codes, household keys, answers."""

import pytest

from services.recruitment.domain.allocation import AllocationError, allocate
from services.recruitment.domain.sample import draw_sample
from services.recruitment.domain.answers import check_strata
from services.recruitment.domain.codes import (ALPHABET, CodeRefused, UnknownCode, UsedCode, code_hash, household_key,
                                              new_code, normalise)
from services.recruitment.domain.register import parse_register_csv
from shared.problems import InvalidInput

STRATA = [
    {"category": "gender", "quotas": [{"value": "f", "min": 2, "max": 3}, {"value": "m", "min": 2, "max": 3}]},
    {"category": "region", "quotas": [{"value": "A", "min": 1, "max": 4}, {"value": "B", "min": 1, "max": 4}]},
]
REGIONS = [{"code": "A", "name": "A", "population": 10}, {"code": "B", "name": "B", "population": 5}]


def test_allocation_is_proportional_and_exact():
    alloc = allocate(20000, {"DK01": 1870, "DK02": 850, "DK03": 1230, "DK04": 1360, "DK05": 595})
    assert sum(alloc.values()) == 20000
    assert alloc["DK01"] == pytest.approx(20000 * 1870 / 5905, abs=1)
    assert alloc["DK05"] == pytest.approx(20000 * 595 / 5905, abs=1)


def test_allocation_moves_surplus_when_a_region_runs_out():
    alloc = allocate(10, {"A": 50, "B": 50}, available={"A": 2, "B": 100})
    assert alloc == {"A": 2, "B": 8}


def test_allocation_refuses_more_letters_than_people():
    with pytest.raises(AllocationError, match="only 3 people"):
        allocate(5, {"A": 1}, available={"A": 3})


def test_sample_is_seeded_and_within_regions():
    cands = {"A": list(range(100)), "B": list(range(100, 150))}
    s1 = draw_sample(cands, {"A": 10, "B": 5}, seed=7)
    assert s1 == draw_sample(cands, {"A": 10, "B": 5}, seed=7)
    assert s1 != draw_sample(cands, {"A": 10, "B": 5}, seed=8)
    assert len(set(s1)) == 15 and sum(1 for x in s1 if x >= 100) == 5


def test_codes_are_long_unique_and_forgiving_to_type():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = next(iter(codes))
    assert len(code.replace("-", "")) * 5 >= 100 and all(c in ALPHABET for c in code.replace("-", ""))
    sloppy = code.lower().replace("-", " ")
    assert code_hash(sloppy) == code_hash(code)
    assert normalise("too-short") is None
    assert normalise(code.replace(code[0], "!", 1)) is None


def test_strata_that_no_panel_can_meet_are_named():
    assert check_strata(REGIONS, STRATA, 5) == []
    problems = check_strata(REGIONS, STRATA, 7)
    assert any("maximums add up to 6, less than the panel size 7" in p for p in problems)
    bad = [{"category": "region", "quotas": [{"value": "A", "min": 3, "max": 1}]}]
    problems = check_strata(REGIONS, bad, 2)
    assert any("min 3 is above max 1" in p for p in problems)
    assert any("exactly the assembly's region codes" in p for p in problems)


def test_household_keys_join_one_address_per_assembly_only():
    a1, a2 = "4a6f9f3e-0000-4000-8000-000000000001", "4a6f9f3e-0000-4000-8000-000000000002"
    key = household_key("secret", a1, "Nørregade 7,  1165 København")
    assert key == household_key("secret", a1, "nørregade 7, 1165 KØBENHAVN ")  # case and spaces do not matter
    assert len(key) == 32 and "gade" not in key
    assert key != household_key("secret", a1, "Nørregade 9, 1165 København")
    assert key != household_key("secret", a2, "Nørregade 7, 1165 København")  # not linkable across assemblies
    assert key != household_key("other secret", a1, "Nørregade 7, 1165 København")


def test_the_register_extract_is_checked_line_by_line():
    good = "person_id,name,address,region\n1, Ada ,Vej 1,A\n2,Bo,Vej 2,B\n"
    assert parse_register_csv(good, {"A", "B"}) == [
        {"person_ref": "1", "name": "Ada", "address": "Vej 1", "region": "A", "age_band": None, "gender": None},
        {"person_ref": "2", "name": "Bo", "address": "Vej 2", "region": "B", "age_band": None, "gender": None}]
    for text, message in (("person_id,name,region\n1,Ada,A\n", "missing: address"),
                          ("person_id,name,address,region\n1,,Vej 1,A\n", "line 2: every row needs"),
                          ("person_id,name,address,region\n1,Ada,Vej 1,C\n", "line 2: region 'C' is not one of A, B"),
                          (good + "1,Cy,Vej 3,A\n", "line 4: the same person_id appears twice"),
                          ("person_id,name,address,region\n", "no rows")):
        with pytest.raises(InvalidInput, match=message) as refused:
            parse_register_csv(text, {"A", "B"})
        assert refused.value.code == "invalid_input"


def test_errors_carry_stable_codes_and_no_status():
    with pytest.raises(AllocationError) as refused:
        allocate(10, {"A": 1}, {"A": 3})
    assert refused.value.code == "invalid_input" and not hasattr(refused.value, "status")
    assert (UnknownCode("x").code, UsedCode("x").code) == ("not_found", "code_used")
    assert isinstance(UsedCode("x"), CodeRefused) and UsedCode("x").kind == "conflict"


def test_consent_is_versioned_and_its_words_are_hashed():
    from services.recruitment.domain.consent import CURRENT, consent_record, consent_text

    da, en = consent_record(None, "da"), consent_record(CURRENT, "en")
    assert da["consent_version"] == en["consent_version"] == CURRENT and da["consent_lang"] == "da"
    assert da["consent_sha256"] != en["consent_sha256"] and len(da["consent_sha256"]) == 64
    assert consent_record(CURRENT, "fr") == da  # another language reads the Danish words
    assert "samtykke" in consent_text(CURRENT, "da")["agree"]
    with pytest.raises(InvalidInput, match="consent version '1999' is not known"):
        consent_record("1999", "da")

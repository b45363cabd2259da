"""What letters say about their assembly, read from the staff's form; money in øre; and a letter
rendered to PDF (its text, its QR code), without I/O beyond the template."""

from __future__ import annotations

import uuid
from datetime import date

from services.recruitment.domain.letter_details import (kroner_text, letter_form_values, missing_details,
                                                        parse_date, parse_kroner, read_letter_form)
from services.recruitment.printing import qr_url, render_letters
from tests.letters import pdf_pages, qr_codes


def test_dates_and_kroner_as_people_type_them():
    assert parse_date("2027-03-06") == parse_date("6.3.2027") == parse_date("06/03/2027") == date(2027, 3, 6)
    assert parse_date("31.2.2027") is None and parse_date("marts") is None
    assert parse_kroner("1.500") == parse_kroner("1500") == parse_kroner("1500 kr.") == 150000
    assert parse_kroner("1.500,5") == 150050 and parse_kroner("1,5") == 150
    assert parse_kroner("1.50") is None and parse_kroner("-3") is None and parse_kroner("mange") is None
    assert kroner_text(150050) == "1.500,50 kr." and kroner_text(150000, "en") == "DKK 1,500"


def test_the_letter_form_reads_and_names_every_problem():
    details, problems = read_letter_form({"commissioner": " Klimaministeriet ", "session_dates": "10.4.2027, 6.3.2027",
                                          "stipend": "1.500", "reply_by": "1.2.2027"})
    assert problems == []
    assert details == {"commissioner": "Klimaministeriet", "remit": None, "remit_en": None,
                       "session_dates": ["2027-03-06", "2027-04-10"], "stipend_ore": 150000,
                       "reply_by": date(2027, 2, 1)}
    assert missing_details(details) == ["remit"]
    assert letter_form_values(details)["session_dates"] == "2027-03-06, 2027-04-10"
    assert letter_form_values(details)["stipend"] == "1.500"
    _, problems = read_letter_form({"remit": "x" * 2001, "session_dates": "6.3.2027 32.3.2027", "stipend": "gratis",
                                    "reply_by": "1.5.2027"})
    assert [(f, k) for f, k, _ in problems] == [("remit", "too_long"), ("session_dates", "date"), ("stipend", "stipend"),
                                                ("reply_by", "reply_after_sessions")]
    _, problems = read_letter_form({"session_dates": "6.3.2027", "reply_by": "1.5.2027"})
    assert [(f, k) for f, k, _ in problems] == [("reply_by", "reply_after_sessions")]


def test_a_letter_renders_to_one_page_with_its_code_and_qr_code():
    assembly = {"name": "Borgertinget om klima", "panel_size": 60, "commissioner": "Klimaministeriet",
                "remit": "Hvordan når Danmark sine klimamål?", "session_dates": ["2027-03-06"], "stipend_ore": 150000,
                "reply_by": "2027-02-01"}
    letters = [{"letter_id": uuid.UUID(int=i), "name": f"Åse Ørsted {i}", "address": "Vestergade 1, 8000 Aarhus C",
                "code": f"ABCD-EFGH-JKMN-PQRS-TVW{i}"} for i in range(2)]
    pdf = render_letters(assembly, letters, register_url="https://b.example/register", withdraw_url="https://b.example/w",
                         kind="reminder", today=date(2027, 1, 10))
    pages = pdf_pages(pdf)
    assert len(pages) == 2
    assert "Påmindelse: du er inviteret til Borgertinget om klima" in pages[0] and "Åse Ørsted 0" in pages[0]
    assert "ABCD-EFGH-JKMN-PQRS-TVW1" in pages[1] and "10. januar 2027" in pages[1]
    assert qr_codes(pdf, 1) == [qr_url("https://b.example/register", "ABCD-EFGH-JKMN-PQRS-TVW1")]


def test_a_large_batch_is_laid_out_in_parts_and_joined_in_order(monkeypatch):
    """Beyond CHUNK letters the batch is laid out in worker processes and joined by qpdf: one PDF,
    page n is still letter n, each page with its own code and QR code."""
    from services.recruitment import printing

    monkeypatch.setattr(printing, "CHUNK", 3)
    assembly = {"name": "Borgertinget om klima", "panel_size": 60}
    letters = [{"letter_id": uuid.UUID(int=i), "name": f"Person {i}", "address": "Vestergade 1, 8000 Aarhus C",
                "code": f"CODE-{i:04d}"} for i in range(8)]
    pdf = render_letters(assembly, letters, register_url="https://b.example/register", withdraw_url="https://b.example/w")
    pages = pdf_pages(pdf)
    assert len(pages) == 8
    assert all(f"Person {i}" in page and f"CODE-{i:04d}" in page for i, page in enumerate(pages))
    assert "af de 8 personer" in pages[7]  # each part knows the batch's size
    assert qr_codes(pdf, 7) == [qr_url("https://b.example/register", "CODE-0007")]


def test_a_national_batch_is_packed_as_several_pdfs_and_the_merge_file_says_where_each_letter_is(tmp_path, monkeypatch):
    """Beyond per_file letters the pack holds one PDF per per_file letters (each joined from its
    parts): the merge CSV and the Digital Post file name each letter's file and page, in order."""
    import csv
    import io
    import json
    import zipfile

    from services.recruitment import printing

    monkeypatch.setattr(printing, "CHUNK", 2)  # the files are themselves joined from parts
    assembly = {"name": "Borgertinget om klima", "panel_size": 60}
    letters = [{"letter_id": uuid.UUID(int=i), "name": f"Person {i}", "address": "Vestergade 1, 8000 Aarhus C",
                "code": f"CODE-{i:04d}", "region": "DK04"} for i in range(7)]
    path = tmp_path / "pack.zip"
    printing.letter_pack(str(path), "b1", assembly, letters, register_url="https://b.example/register",
                         withdraw_url="https://b.example/w", recipients={str(x["letter_id"]): f"p{i}" for i, x in
                                                                         enumerate(letters)}, per_file=3)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert names == ["letters-b1-01.pdf", "letters-b1-02.pdf", "letters-b1-03.pdf", "merge-b1.csv",
                         "digital-post-b1.json"]
        pdfs = {n: pdf_pages(z.read(n)) for n in names if n.endswith(".pdf")}
        merge = list(csv.DictReader(io.StringIO(z.read("merge-b1.csv").decode("utf-8-sig"))))
        post = json.loads(z.read("digital-post-b1.json"))
    assert [len(p) for p in pdfs.values()] == [3, 3, 1]
    assert [(m["file"], m["page"]) for m in merge] == [("letters-b1-01.pdf", "1"), ("letters-b1-01.pdf", "2"),
                                                       ("letters-b1-01.pdf", "3"), ("letters-b1-02.pdf", "1"),
                                                       ("letters-b1-02.pdf", "2"), ("letters-b1-02.pdf", "3"),
                                                       ("letters-b1-03.pdf", "1")]
    for m in merge:  # the page the merge file names holds that letter
        assert m["name"] in pdfs[m["file"]][int(m["page"]) - 1] and m["code"] in pdfs[m["file"]][int(m["page"]) - 1]
    assert "af de 7 personer" in pdfs["letters-b1-03.pdf"][0]  # each file knows the batch's size
    assert post["documents"] == names[:3]
    assert [(x["document"], x["pages"]) for x in post["recipients"]] == \
        [(m["file"], [int(m["page"])] * 2) for m in merge]
    assert not list(tmp_path.glob("letters-*"))  # the work folder is gone


def test_the_second_wave_closes_each_regions_gap_at_its_reply_rate():
    from services.recruitment.domain.waves import region_seats, second_wave

    seats = region_seats(60, {"N": 300, "S": 100, "E": 200}, {"S": 20})
    assert seats == {"N": 30, "S": 20, "E": 20}  # S: its minimum is above its population share (10)
    rows = {r.region: r for r in second_wave(seats, {"N": 330, "S": 50, "E": 0}, {"N": 6000, "S": 2000, "E": 0},
                                             {"N": 9000, "S": 3000, "E": 100}, pool_factor=10, expected_rate=0.04)}
    assert rows["N"].gap == 0 and rows["N"].letters == 0  # 330 registered, 300 wanted
    s = rows["S"]  # 200 wanted, 50 registered; 50 of 2000 replied = 2.5 %
    assert (s.target, s.gap, s.reply_rate, s.observed, s.letters, s.capped) == (200, 150, 0.025, True, 3000, True)
    e = rows["E"]  # nobody invited yet: the expected rate; the register caps the letters
    assert (e.gap, e.observed, e.reply_rate, e.letters, e.capped) == (200, False, 0.04, 100, True)


def test_quota_checks_and_the_returned_letters_file():
    from services.recruitment.domain.waves import parse_returns, quota_checks

    strata = [{"category": "gender", "quotas": [{"value": "f", "min": 3, "max": 9}, {"value": "m", "min": 2, "max": 9}]}]
    checks = quota_checks(strata, {"gender": {"f": 1, "m": 5}})
    assert [(c.value, c.short) for c in checks] == [("f", 2), ("m", 0)]
    rows, problems = parse_returns("letter_id,reason\nF0CE7D82-7173,moved\n0b1c7d8e-1111-2222-3333-444455556666,\n")
    assert rows == [("f0ce7d82-7173", "moved"), ("0b1c7d8e-1111-2222-3333-444455556666", "")] and problems == []
    assert parse_returns("letter_id\n0101701234\n")[1] == [(2, "bad_id")]  # a CPR number is no letter id
    assert parse_returns("id\nx\n")[1] == [(1, "missing_column")] and parse_returns("letter_id\n")[1] == [(1, "no_rows")]

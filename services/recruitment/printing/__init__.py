"""Letters people can hold: a batch of invitations (or reminders) rendered to print-ready PDFs
(one, or one per FILE_LETTERS letters for a national wave) with Typst from the template beside this file (one A4 page per letter, a QR code per letter made
with zxing-cpp), the print house's merge CSV, and the Digital Post batch (docs/letters.md). Pure
apart from reading the template: the codes in clear pass through here and are kept nowhere.

No CPR number reaches this module (the letters carry name, address, code and the letter's id);
the Digital Post batch gets the recipients' register ids from its caller, in its rows only."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path

import numpy
import pikepdf
import typst
import zxingcpp
from PIL import Image
from babel.dates import format_date

from services.recruitment.domain.letter_details import kroner_text

TEMPLATE = Path(__file__).parent / "invitation.typ"
PART_SCRIPT = Path(__file__).parent / "typst_part.py"
LANGUAGES = ("da", "en")
MERGE_HEADER = ["letter_id", "page", "name", "address", "region", "code", "url", "file"]


def qr_url(register_url: str, code: str) -> str:
    """The QR code's address: the registration page with the code in the fragment, which browsers
    never send to a server, so the code appears in no request line or access log (the page's
    script copies it into the form)."""
    return f"{register_url}#kode={code}"


def _qr_png(url: str) -> bytes:
    """The QR code (error correction M, quiet zone included) as a PNG of one pixel per module,
    which the template prints 26 mm wide without smoothing: crisp modules at any printer's
    resolution. A bitmap, not SVG: Typst decodes a PNG this small about ten times faster than an
    SVG, and zxing-cpp chooses the mask (ISO/IEC 18004's penalty rules) in C++ — together a
    letter costs milliseconds, which is what lets a 100,000-letter wave print in minutes."""
    symbol = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    buf = io.BytesIO()
    Image.fromarray(numpy.asarray(symbol.to_image(scale=1, add_quiet_zones=True))).save(buf, "PNG")
    return buf.getvalue()


def _address_lines(address: str) -> list[str]:
    return [part.strip() for part in address.split(",") if part.strip()][:5]


def _assembly_data(assembly: Mapping, lang: str) -> dict:
    remit = (assembly.get("remit_en") or assembly.get("remit")) if lang == "en" else assembly.get("remit")
    reply_by = assembly.get("reply_by")
    if isinstance(reply_by, str):
        reply_by = date.fromisoformat(reply_by)
    stipend = assembly.get("stipend_ore")
    return {
        "name": assembly["name"],
        "commissioner": assembly.get("commissioner") or assembly["name"],
        "remit": remit or None,
        "panel_size": f"{assembly['panel_size']:,}".replace(",", "." if lang == "da" else ","),
        "dates": [format_date(date.fromisoformat(d), format="long", locale=lang) for d in assembly.get("session_dates") or []],
        "stipend": kroner_text(stipend, lang) if stipend else None,
        "reply_by": format_date(reply_by, format="long", locale=lang) if reply_by else None,
    }


# Letters per Typst compile. Typst keeps what it laid out (its memo cache) for the life of the
# process — about 0.45 MB a letter — so a large batch is laid out in parts, each in a fresh process
# of its own (typst_part.py), and the parts' PDFs are joined by qpdf (pikepdf): Typst's memory is
# bounded by the part, whatever the batch's size, and the parts use the CPUs the process may use (its
# cgroup's quota included). qpdf's join holds about 35 KB a page for the whole document (measured:
# 40,000 pages, 1.5 GB), so a pack holds one PDF per FILE_LETTERS letters, written to disk as it goes.
CHUNK = 250
WORKERS = 4  # at most
FILE_LETTERS = 10_000


def _cpus() -> int:
    cpus = len(os.sched_getaffinity(0))
    try:  # a container's CPU limit (cgroup v2): "max 100000" or "<quota> <period>"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def _common(assembly: Mapping, *, register_url: str, withdraw_url: str, lang: str, kind: str, invited: int,
            today: date | None) -> dict:
    """What every letter of a batch says alike."""
    if lang not in LANGUAGES:
        raise ValueError(f"letters are written in {', '.join(LANGUAGES)}")
    today = today or datetime.now(timezone.utc).date()
    number_sep = "." if lang == "da" else ","
    return {
        "lang": lang,
        "kind": kind,
        "assembly": _assembly_data(assembly, lang),
        "date": format_date(today, format="long", locale=lang),
        "url": register_url,
        "withdraw_url": withdraw_url,
        "invited": f"{invited:,}".replace(",", number_sep),
    }


def render_letters(assembly: Mapping, letters: Sequence[Mapping], *, register_url: str, withdraw_url: str,
                   lang: str = "da", kind: str = "invitation", invited: int | None = None,
                   today: date | None = None) -> bytes:
    """One PDF: page n is letter n of `letters` (each {letter_id, name, address, code}). `kind` is
    invitation | reminder; `invited` is how many were invited in all. For a batch of any size,
    letter_pack writes the files to disk instead."""
    common = _common(assembly, register_url=register_url, withdraw_url=withdraw_url, lang=lang, kind=kind,
                     invited=len(letters) if invited is None else invited, today=today)
    with tempfile.TemporaryDirectory(prefix="letters-") as work:
        path = os.path.join(work, "letters.pdf")
        _render_to(path, common, letters, work)
        return Path(path).read_bytes()


def _rows(letters: Sequence[Mapping]) -> list[dict]:
    return [{"ref": letter_ref(x["letter_id"]), "name": x["name"], "address": _address_lines(x["address"]),
             "code": x["code"]} for x in letters]


def _render_to(path: str, common: dict, letters: Sequence[Mapping], work: str) -> None:
    """The letters as one PDF at `path`; parts of CHUNK laid out in processes of their own in `work`."""
    rows = _rows(letters)
    if len(rows) <= CHUNK:
        Path(path).write_bytes(_compile(common, rows))
        return
    parts = [(rows[i:i + CHUNK], os.path.join(work, f"part-{i // CHUNK:06d}.pdf")) for i in range(0, len(rows), CHUNK)]
    with ThreadPoolExecutor(max(1, min(WORKERS, _cpus(), len(parts)))) as pool:
        files = list(pool.map(lambda part: _compile_in_process(common, *part), parts))
    pikepdf.Job(["qpdf", "--empty", "--pages", *files, "--", path]).run()
    for f in files:
        os.unlink(f)


def _data(common: dict, rows: list[dict]) -> str:
    return json.dumps({**common, "letters": [{**r, "qr": list(_qr_png(qr_url(common["url"], r["code"])))}
                                             for r in rows]})


def _compile(common: dict, rows: list[dict]) -> bytes:
    return typst.compile(TEMPLATE.read_bytes(), sys_inputs={"data": _data(common, rows)}, ignore_system_fonts=True)


def _compile_in_process(common: dict, rows: list[dict], path: str) -> str:
    """One part laid out by typst_part.py in a fresh interpreter (a new process per part: Typst's
    memory goes with it; the interpreter imports Typst only, not the service)."""
    done = subprocess.run([sys.executable, str(PART_SCRIPT), str(TEMPLATE), path], input=_data(common, rows).encode(),
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"laying out letters failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return path


def letter_ref(letter_id: object) -> str:
    """The letter's reference as printed (the invitation id's first 13 characters): what a returned
    envelope is booked by, with the merge CSV's full id beside it."""
    return str(letter_id)[:13].upper()


def pdf_names(batch_id: object, count: int, per_file: int = FILE_LETTERS) -> list[str]:
    """The pack's PDFs: letters-<batch>.pdf, or letters-<batch>-01.pdf, -02, ... beyond `per_file` letters."""
    files = max(1, -(-count // per_file))
    if files == 1:
        return [f"letters-{batch_id}.pdf"]
    width = max(2, len(str(files)))
    return [f"letters-{batch_id}-{i + 1:0{width}d}.pdf" for i in range(files)]


def _placed(letters: Sequence[Mapping], names: Sequence[str], per_file: int):
    """Each letter with its file and its page in that file."""
    for i, x in enumerate(letters):
        yield x, names[i // per_file], i % per_file + 1


def merge_rows(letters: Sequence[Mapping], register_url: str, names: Sequence[str] = ("",),
               per_file: int = FILE_LETTERS) -> list[list[str]]:
    return [[str(x["letter_id"]), str(page), x["name"], x["address"], x["region"], x["code"],
             qr_url(register_url, x["code"]), name] for x, name, page in _placed(letters, names, per_file)]


def merge_csv(letters: Sequence[Mapping], register_url: str, names: Sequence[str] = ("",),
              per_file: int = FILE_LETTERS) -> bytes:
    """The print house's merge file: one row per letter, in the PDFs' order, with its file and page."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(MERGE_HEADER)
    writer.writerows(merge_rows(letters, register_url, names, per_file))
    return buf.getvalue().encode()


def digital_post(batch_id: object, assembly: Mapping, letters: Sequence[Mapping], recipients: Mapping[str, str], *,
                 register_url: str, lang: str, kind: str, pdf_names: Sequence[str],
                 per_file: int = FILE_LETTERS) -> bytes:
    """The Digital Post batch (layout in docs/letters.md): one entry per recipient, addressed by
    the register's person id, pointing at its page of one of the batch's PDFs. `recipients` maps a
    letter id to its person id."""
    title = {("da", "invitation"): "Invitation til ", ("en", "invitation"): "Invitation to ",
             ("da", "reminder"): "Påmindelse: invitation til ", ("en", "reminder"): "Reminder: invitation to "}
    doc = {
        "format": "borgerting.digital-post.v2",
        "batch_id": str(batch_id),
        "kind": kind,
        "language": lang,
        "sender": assembly.get("commissioner") or assembly["name"],
        "documents": list(pdf_names),
        "recipients": [
            {"recipient": {"type": "cpr", "id": recipients[str(x["letter_id"])]},
             "letter_id": str(x["letter_id"]), "title": title[(lang, kind)] + assembly["name"],
             "document": name, "pages": [page, page], "code": x["code"], "url": qr_url(register_url, x["code"])}
            for x, name, page in _placed(letters, pdf_names, per_file)],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1).encode()


def letter_pack(path: str, batch_id: object, assembly: Mapping, letters: Sequence[Mapping], *, register_url: str,
                withdraw_url: str, lang: str = "da", kind: str = "invitation", invited: int | None = None,
                recipients: Mapping[str, str] | None = None, per_file: int = FILE_LETTERS) -> None:
    """A ZIP at `path` for one batch: its letters-<batch>.pdf (one per `per_file` letters) and
    merge-<batch>.csv for the print house, and with `recipients` (the Digital Post channel)
    digital-post-<batch>.json too. File names carry only the batch id. Each PDF goes from disk into
    the ZIP as it is made: memory is bounded by one file's join, whatever the batch's size."""
    common = _common(assembly, register_url=register_url, withdraw_url=withdraw_url, lang=lang, kind=kind,
                     invited=len(letters) if invited is None else invited, today=None)
    names = pdf_names(batch_id, len(letters), per_file)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, \
            tempfile.TemporaryDirectory(prefix="letters-", dir=os.path.dirname(path)) as work:
        for i, name in enumerate(names):
            pdf = os.path.join(work, name)
            _render_to(pdf, common, letters[i * per_file:(i + 1) * per_file], work)
            z.write(pdf, name, compress_type=zipfile.ZIP_STORED)  # a PDF's streams are compressed already
            os.unlink(pdf)
        z.writestr(f"merge-{batch_id}.csv", merge_csv(letters, register_url, names, per_file))
        if recipients is not None:
            z.writestr(f"digital-post-{batch_id}.json",
                       digital_post(batch_id, assembly, letters, recipients, register_url=register_url, lang=lang,
                                    kind=kind, pdf_names=names, per_file=per_file))

"""Reading the letters as a person (or the print house) would: the ZIP of a batch, the PDF's text
per page, and the QR code decoded from the rendered page."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass

import pypdfium2
import zxingcpp


@dataclass
class Pack:
    names: list[str]
    pdf: bytes
    pages: list[str]  # the text of each page
    merge: list[list[str]]  # the merge CSV, header first
    digital_post: dict | None


def pdf_pages(pdf: bytes) -> list[str]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        # pdfium reports a hyphen that ends a line as U+FFFE (it may be a soft hyphen); in these documents
        # it is always a real one (a UUID or a word's own hyphen wrapped at the line end)
        return [page.get_textpage().get_text_range().replace("\ufffe", "-") for page in doc]
    finally:
        doc.close()


def qr_codes(pdf: bytes, page: int = 0) -> list[str]:
    """The QR codes on a page, decoded from the page rendered at 144 dpi."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        image = doc[page].render(scale=2).to_numpy()
    finally:
        doc.close()
    return [r.text for r in zxingcpp.read_barcodes(image)]


def read_pack(body: bytes) -> Pack:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        names = sorted(z.namelist())
        pdf = z.read(next(n for n in names if n.endswith(".pdf")))
        merge = list(csv.reader(io.StringIO(z.read(next(n for n in names if n.endswith(".csv"))).decode().lstrip("\ufeff"))))
        dp = next((n for n in names if n.startswith("digital-post-")), None)
        digital_post = json.loads(z.read(dp)) if dp else None
    return Pack(names, pdf, pdf_pages(pdf), merge, digital_post)


def open_pack(response) -> Pack:
    assert response.headers["content-type"] == "application/zip", response.text[:300]
    assert response.headers["content-disposition"].startswith("attachment;")
    return read_pack(response.content)

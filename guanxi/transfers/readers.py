"""Reading uploaded files as a stream of rows: CSV (UTF-8, UTF-8 with BOM or GB18030),
XLSX (openpyxl read-only) and vCard. Nothing here loads a whole file into memory."""

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from typing import IO, Any

import vobject
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CHUNK = 64 * 1024
ENCODINGS = ("utf-8", "gb18030")
# The columns a vCard is read into; the mapping page shows them like CSV headers.
VCARD_HEADERS = ["FN", "TEL;TYPE=CELL", "TEL", "EMAIL", "ORG", "TITLE", "NOTE"]
VCARD_MAPPING = ["name", "mobile", "phone", "email", "customer_name", "title", "notes"]

csv.field_size_limit(1024 * 1024)


def format_from_name(name: str, head: bytes) -> str:
    """csv / xlsx / vcf from the file name, checked against the first bytes."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension == "xlsx":
        if not head.startswith(b"PK"):
            raise ValidationError(_("This file is not a valid Excel (.xlsx) workbook."))
        return "xlsx"
    if extension in {"vcf", "vcard"}:
        return "vcf"
    if extension in {"csv", "txt"}:
        if head.startswith(b"PK") or b"\x00" in head[:1024]:
            raise ValidationError(_("This file is not a text (CSV) file."))
        return "csv"
    if extension == "xls":
        raise ValidationError(
            _("Old Excel files (.xls) are not supported. Save the file as .xlsx or CSV.")
        )
    raise ValidationError(
        _("Files of type “%(ext)s” cannot be imported. Use CSV, XLSX or VCF.")
        % {"ext": extension or "?"}
    )


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding the whole file decodes with: utf-8-sig, utf-8 or gb18030.

    Reads the file chunk by chunk with incremental decoders, so a bad byte near the end
    is found now, at upload, rather than half-way through the import.
    """
    stream.seek(0)
    bom = stream.read(3) == codecs.BOM_UTF8
    candidates = ("utf-8-sig",) if bom else ENCODINGS
    for encoding in candidates:
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        else:
            stream.seek(0)
            return encoding
    raise ValidationError(
        _("The file's text could not be read. Save it as UTF-8 (or GB18030) CSV.")
    )


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.min.time()
            else (value.isoformat(sep=" "))
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _detach(text: io.TextIOWrapper) -> None:
    # Hand the byte stream back without closing it; it may already be closed when a
    # half-read generator is collected.
    with suppress(ValueError):
        text.detach()


def _csv_rows(stream: IO[bytes], encoding: str, delimiter: str) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        for row in csv.reader(text, delimiter=delimiter or ","):
            yield [cell.strip() for cell in row]
    finally:
        _detach(text)


def _xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises its own and lxml's errors on broken parts
        raise ValidationError(_("This Excel file is damaged or not an .xlsx workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        workbook.close()


def _vcard_text(component: Any, name: str) -> str:
    entries = component.contents.get(name.lower(), [])
    return _cell(entries[0].value) if entries else ""


def _vcard_rows(stream: IO[bytes], encoding: str) -> Iterator[list[str]]:
    yield list(VCARD_HEADERS)
    text = io.TextIOWrapper(stream, encoding=encoding or "utf-8", newline="")
    try:
        for card in vobject.readComponents(text, allowQP=True, ignoreUnreadable=True):
            mobile, phone = "", ""
            for tel in card.contents.get("tel", []):
                types = {t.upper() for t in tel.params.get("TYPE", [])}
                if "CELL" in types and not mobile:
                    mobile = _cell(tel.value)
                elif not phone:
                    phone = _cell(tel.value)
            org = card.contents.get("org", [])
            org_name = ""
            if org:
                value = org[0].value
                org_name = _cell(value[0] if isinstance(value, list) and value else value)
            name = _vcard_text(card, "FN")
            if not name and "n" in card.contents:
                n = card.n.value
                name = f"{n.family}{n.given}".strip()
            yield [
                name,
                mobile,
                phone,
                _vcard_text(card, "EMAIL"),
                org_name,
                _vcard_text(card, "TITLE"),
                _vcard_text(card, "NOTE"),
            ]
    except vobject.base.VObjectError as exc:
        raise ValidationError(
            _("This vCard file could not be read: %(error)s") % {"error": exc}
        ) from exc
    finally:
        _detach(text)


@contextmanager
def open_rows(
    stream: IO[bytes], *, format: str, encoding: str = "", delimiter: str = ","
) -> Iterator[Iterator[list[str]]]:
    """Yield an iterator over the rows of ``stream`` (the header row first)."""
    stream.seek(0)
    if format == "xlsx":
        yield _xlsx_rows(stream)
    elif format == "vcf":
        yield _vcard_rows(stream, encoding)
    else:
        yield _csv_rows(stream, encoding or "utf-8", delimiter)


def read_header(stream: IO[bytes], *, format: str, encoding: str, delimiter: str) -> list[str]:
    """The first non-empty row, or a ValidationError if the file has none."""
    try:
        with open_rows(stream, format=format, encoding=encoding, delimiter=delimiter) as rows:
            for row in rows:
                if any(row):
                    while row and not row[-1]:
                        row.pop()
                    return row
    except ValidationError:
        raise
    except Exception as exc:  # csv.Error, UnicodeDecodeError, openpyxl's parse errors
        raise ValidationError(_("The file could not be read: %(error)s") % {"error": exc}) from exc
    raise ValidationError(_("The file has no rows."))

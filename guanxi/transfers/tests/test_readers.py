"""Reading uploaded files: encodings, formats and damaged input."""

import io

import pytest
from django.core.exceptions import ValidationError

from guanxi.transfers import readers
from guanxi.transfers.fields import guess_mapping
from guanxi.transfers.tests.conftest import csv_bytes, xlsx_bytes

ROWS = [["客户名称", "手机", "城市"], ["杭州万华化工有限公司", "13800000001", "杭州市"]]


def _read(content: bytes, fmt: str = "csv") -> tuple[str, list[list[str]]]:
    stream = io.BytesIO(content)
    encoding = readers.detect_encoding(stream) if fmt != "xlsx" else ""
    with readers.open_rows(stream, format=fmt, encoding=encoding) as rows:
        return encoding, list(rows)


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030")],
)
def test_csv_in_each_encoding_reads_the_same_chinese_text(encoding, detected):
    # given the same rows saved in UTF-8, UTF-8 with BOM (Excel) and GB18030 (WPS)
    content = csv_bytes(ROWS, encoding)
    # when the file is read
    found, rows = _read(content)
    # then the encoding is detected and the text is intact (no BOM in the first header)
    assert found == detected
    assert rows == ROWS


def test_xlsx_is_read_in_read_only_mode_with_dates_and_numbers_as_text():
    # given a workbook with a number and a date cell
    import datetime

    content = xlsx_bytes(
        [["名称", "手机", "生日"], ["张三", 13800000001, datetime.datetime(1990, 5, 1)]]
    )
    # when it is read
    _enc, rows = _read(content, "xlsx")
    # then every cell is text, numbers without ".0" and dates as ISO dates
    assert rows == [["名称", "手机", "生日"], ["张三", "13800000001", "1990-05-01"]]


def test_undecodable_text_is_rejected_with_a_clear_message():
    # given bytes that are neither UTF-8 nor GB18030
    content = b"name\n\x81\x20\xff\xfe\x80\n"
    # when the encoding is detected, then the user is told to save as UTF-8
    with pytest.raises(ValidationError, match="UTF-8"):
        readers.detect_encoding(io.BytesIO(content))


def test_corrupt_xlsx_is_rejected_with_a_clear_message():
    # given a "workbook" that is a truncated zip
    content = xlsx_bytes([["名称"], ["x"]])[:200]
    # when its header is read, then a ValidationError (not a crash) says it is damaged
    with pytest.raises(ValidationError, match="damaged"):
        readers.read_header(io.BytesIO(content), format="xlsx", encoding="", delimiter=",")


@pytest.mark.parametrize(
    ("name", "head", "message"),
    [
        ("customers.exe", b"MZ", "cannot be imported"),
        ("customers.xls", b"\xd0\xcf", ".xlsx"),
        ("customers.xlsx", b"not a zip", "not a valid Excel"),
        ("customers.csv", b"PK\x03\x04", "not a text"),
    ],
)
def test_wrong_file_types_are_rejected(name, head, message):
    with pytest.raises(ValidationError, match=message):
        readers.format_from_name(name, head)


def test_semicolon_and_tab_separated_files_are_sniffed():
    assert readers.sniff_delimiter("名称;手机;城市") == ";"
    assert readers.sniff_delimiter("名称\t手机") == "\t"
    assert readers.sniff_delimiter("名称") == ","


def test_mapping_is_guessed_from_chinese_and_english_headers():
    # given headers as Chinese and English CRMs export them
    headers = [
        "客户名称",
        "Mobile",
        "电话",
        "邮箱",
        "统一社会信用代码",
        "省份",
        "城市",
        "行业",
        "来源渠道",
        "客户等级",
        "负责人",
        "标签",
        "联系人",
        "Unrelated",
    ]
    # when the mapping is guessed
    mapping = guess_mapping("customers", headers)
    # then each known header maps to its field and unknown ones are ignored
    assert mapping == [
        "name",
        "mobile",
        "phone",
        "email",
        "uscc",
        "province",
        "city",
        "industry",
        "channel",
        "tier",
        "owner",
        "tags",
        "contact_name",
        "",
    ]


def test_previous_mapping_wins_over_the_guess_and_no_field_is_used_twice():
    # given the user mapped "公司" to nothing and "Firm" to the name last time
    previous = {"公司名称": "", "Firm": "name"}
    # when a file with those headers and a second name-like column arrives
    mapping = guess_mapping("customers", ["公司名称", "Firm", "Name"], previous)
    # then the previous choices apply and "Name" is not mapped twice
    assert mapping == ["", "name", ""]


def test_contact_headers_are_guessed():
    mapping = guess_mapping("contacts", ["姓名", "手机", "职务", "客户名称", "Email", "部门"])
    assert mapping == ["name", "mobile", "title", "customer_name", "email", "department"]

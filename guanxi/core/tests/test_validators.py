"""Mainland mobile numbers, Unified Social Credit Codes and pinyin keys."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.pinyin import pinyin_keys
from guanxi.core.validators import (
    USCC_ALPHABET,
    normalize_cn_mobile,
    normalize_phone,
    normalize_uscc,
    uscc_check_character,
    validate_phone,
)

REAL_USCC = "91350100M000100Y43"


# --- mobiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138-0013-8000",
        "+8613800138000",
        "8613800138000",
        "0086 138 0013 8000",
        "0086-13800138000",
        "(+86) 138 0013 8000",
        " 13800138000 ",
    ],
)
def test_normalize_cn_mobile_accepts_the_usual_ways_of_writing_a_number(raw):
    # given a mainland mobile written with a prefix, spaces, dashes or brackets
    # when it is normalised
    # then the 11 bare digits remain
    assert normalize_cn_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "12800138000",  # second digit 2 is not a mobile network
        "23800138000",  # does not start with 1
        "021-12345678",  # a Shanghai landline
        "0086",
    ],
)
def test_normalize_cn_mobile_rejects_what_is_not_a_mainland_mobile(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_cn_mobile(raw)
    assert exc.value.code == "invalid_mobile"


def test_normalize_cn_mobile_rejects_a_number_with_a_foreign_country_code():
    with pytest.raises(ValidationError):
        normalize_cn_mobile("+1 415 555 0100")


def test_normalize_cn_mobile_accepts_full_width_digits_from_a_chinese_ime():
    assert normalize_cn_mobile("１３８００１３８０００") == "13800138000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("+86 138-0013-8000", "13800138000"),
        ("021-1234 5678", "02112345678"),
        ("+86 21 1234 5678", "02112345678"),
        ("0086 21 12345678", "02112345678"),
        ("0571-88886666", "057188886666"),
    ],
)
def test_normalize_phone_gives_one_form_for_mobiles_and_landlines(raw, expected):
    assert normalize_phone(raw) == expected


def test_validate_phone_wants_seven_to_twenty_digits():
    validate_phone("")  # empty is allowed (the field is optional)
    validate_phone("021-1234567")
    with pytest.raises(ValidationError):
        validate_phone("12-34")
    with pytest.raises(ValidationError):
        validate_phone("1" * 21)


# --- USCC ---------------------------------------------------------------------------------


def _valid_uscc(first17: str) -> str:
    return first17 + uscc_check_character(first17)


def test_a_real_uscc_passes_its_checksum():
    assert uscc_check_character(REAL_USCC[:17]) == REAL_USCC[17]
    assert normalize_uscc(REAL_USCC) == REAL_USCC


@pytest.mark.parametrize("first17", ["91330100MA27XXXX0", "12100000400000624", "91110108551385082"])
def test_codes_built_with_their_check_character_are_valid(first17):
    code = _valid_uscc(first17)
    assert normalize_uscc(code) == code


def test_normalize_uscc_upper_cases_and_strips_spaces():
    assert normalize_uscc(" 91350100m000100y43 ") == REAL_USCC
    assert normalize_uscc("9135 0100 M000 100Y 43") == REAL_USCC
    assert normalize_uscc("") == ""


@pytest.mark.parametrize("position", range(18))
def test_changing_any_one_character_breaks_the_checksum(position):
    # given the real code with one character replaced by another allowed character
    original = REAL_USCC[position]
    replacement = next(
        c for c in (USCC_ALPHABET if position not in range(2, 8) else "0123456789") if c != original
    )
    broken = REAL_USCC[:position] + replacement + REAL_USCC[position + 1 :]
    # when it is validated, then it is refused
    with pytest.raises(ValidationError) as exc:
        normalize_uscc(broken)
    assert exc.value.code == "invalid_uscc_checksum"


@pytest.mark.parametrize(
    "raw",
    [
        "91350100M000100Y4",  # 17 characters
        "91350100M000100Y433",  # 19 characters
        "91350100M000100I43",  # I is not in the alphabet
        "91350100M000100O43",  # nor O
        "9135010AM000100Y43",  # the region code (3rd-8th) is digits only
        "91350100M000100Y4!",
    ],
)
def test_malformed_uscc_is_refused_before_the_checksum(raw):
    with pytest.raises(ValidationError) as exc:
        normalize_uscc(raw)
    assert exc.value.code == "invalid_uscc"


# --- pinyin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张三", "zhangsan", "zs"),
        ("杭州万华化工有限公司", "hangzhouwanhuahuagongyouxiangongsi", "hzwhhgyxgs"),
        ("ABC科技", "abckeji", "abckj"),
        ("重庆 银行", "chongqingyinhang", "cqyh"),
        ("", "", ""),
        ("（上海）", "shanghai", "sh"),
    ],
)
def test_pinyin_keys_give_lower_case_full_pinyin_and_initials(name, full, initials):
    assert pinyin_keys(name) == (full, initials)

"""Validators and normalisers for Chinese phone numbers and company codes."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_DIGITS_RE = re.compile(r"[^0-9]+")

# GB 32100-2015: 18 characters drawn from this alphabet (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def digits_only(value: str) -> str:
    """All the ASCII digits in ``value``, in order (full-width ０-９ count as digits)."""
    return _DIGITS_RE.sub("", unicodedata.normalize("NFKC", value or ""))


def normalize_cn_mobile(value: str) -> str:
    """Return an 11-digit mainland mobile number, or raise ValidationError.

    Accepts spaces, dashes, brackets and a +86 / 0086 / 86 prefix.
    """
    raw = unicodedata.normalize("NFKC", value or "").strip()
    digits = digits_only(raw)
    # A foreign country code ("+1 415…", "0044…") is not a mainland mobile, even when
    # its digits happen to look like one.
    foreign = (raw.startswith("+") and not digits.startswith("86")) or (
        digits.startswith("00") and not digits.startswith("0086")
    )
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if foreign or not _MOBILE_RE.match(digits):
        raise ValidationError(
            _("Enter a valid mainland China mobile number (11 digits starting with 1)."),
            code="invalid_mobile",
        )
    return digits


def normalize_phone(value: str) -> str:
    """Normalise any phone number for search and duplicate checks.

    Mobiles become 11 digits; landlines keep their area code digits (e.g. 02112345678).
    """
    if not value:
        return ""
    try:
        return normalize_cn_mobile(value)
    except ValidationError:
        digits = digits_only(value)
        if digits.startswith("0086"):
            digits = "0" + digits[4:] if not digits[4:].startswith("0") else digits[4:]
        elif digits.startswith("86") and len(digits) > 11:
            digits = "0" + digits[2:]
        return digits


def validate_phone(value: str) -> None:
    """A phone number is 7 to 20 digits once spaces, dashes and the +86 prefix are gone."""
    digits = digits_only(value)
    if value and not 7 <= len(digits) <= 20:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")


def uscc_check_character(first17: str) -> str:
    """The 18th (check) character of a Unified Social Credit Code."""
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(value: str) -> str:
    """Upper-case, strip spaces, and validate a Unified Social Credit Code (统一社会信用代码)."""
    code = (value or "").strip().upper().replace(" ", "")
    if not code:
        return ""
    if not _USCC_RE.match(code):
        raise ValidationError(
            _("A Unified Social Credit Code has 18 characters (digits and capital letters)."),
            code="invalid_uscc",
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("This Unified Social Credit Code fails its checksum; check for a typing error."),
            code="invalid_uscc_checksum",
        )
    return code


def validate_uscc(value: str) -> None:
    normalize_uscc(value)


def validate_cn_mobile(value: str) -> None:
    if value:
        normalize_cn_mobile(value)

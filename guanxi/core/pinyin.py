"""Pinyin keys for Chinese names, used by search (``zhangsan`` and ``zs`` find 张三)."""

from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

# The ``name_pinyin`` columns hold this much: a syllable is up to six letters, so a long
# Chinese name is cut (prefix search on the pinyin still finds it).
PINYIN_MAX_LENGTH = 600


def _split(chars: str) -> Any:
    return list(chars)


@lru_cache(maxsize=65536)
def pinyin_keys(text: str) -> tuple[str, str]:
    """Return (full pinyin, initials) in lower case without separators.

    Latin letters and digits are kept as they are, so ``ABC科技`` gives ``abckeji`` / ``abckj``.
    """
    if not text:
        return "", ""
    full_parts: list[str] = []
    initials: list[str] = []
    # Non-Chinese runs are split into single characters so "ABC" gives initials "abc".
    for part in lazy_pinyin(text, style=Style.NORMAL, errors=_split):
        part = part.strip().lower()
        if not part or not part.isalnum():
            continue
        full_parts.append(part)
        initials.append(part[0])
    return "".join(full_parts)[:PINYIN_MAX_LENGTH], "".join(initials)

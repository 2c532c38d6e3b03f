"""The refused characters are exactly those outside XML 1.0's `Char` production, for every code point."""

from __future__ import annotations

import pytest

from tour_booking.domain.xml_text import xml_text


def _is_xml_char(code: int) -> bool:
    # XML 1.0, section 2.2: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _carried(text: str) -> bool:
    try:
        xml_text(text)
    except ValueError:
        return False
    return True


def test_every_code_point_is_judged_as_the_production_says() -> None:
    wrong = [code for code in range(0x110000) if _carried(chr(code)) != _is_xml_char(code)]
    assert wrong == []


def test_a_refusal_names_the_code_point_and_its_position_but_not_the_text() -> None:
    with pytest.raises(ValueError, match=r"U\+000B at position 3") as refused:
        xml_text("Ver\u000btab")
    assert "Ver" not in str(refused.value)

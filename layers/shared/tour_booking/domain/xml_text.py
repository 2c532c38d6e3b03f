"""Text that can travel to ResMan: ResMan reads MITS XML 1.0, which cannot carry most control characters.

XML 1.0's `Char` production: TAB, LF, CR, U+0020..U+D7FF, U+E000..U+FFFD, U+10000..U+10FFFF. A booking whose
name or notes hold anything else would answer 201 and then fail for good at ResMan ("Invalid Xml: not
well-formed"), so the API refuses it with a 422 naming the field. Every string that reaches ResMan is declared
with `ResManText`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# The complement of `Char` within what a Python string can hold (nothing lies past U+10FFFF): written as the
# small class it is, it compiles in a fraction of the time of the negated astral range (cold start).
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """The value when XML 1.0 can carry every character of it; ValueError (no character quoted) otherwise."""
    found = _NOT_XML_CHAR.search(value)
    if found is not None:
        raise ValueError(f"holds U+{ord(found.group()):04X} at position {found.start()}, which XML 1.0 cannot carry")
    return value


ResManText = Annotated[str, AfterValidator(xml_text)]

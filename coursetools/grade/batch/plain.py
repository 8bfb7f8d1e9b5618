"""Text that students chose (ids, messages, grade ids), made safe to show as plain text.

A spreadsheet runs a CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a terminal obeys the control characters in what it prints; so every
cell of the CSVs `course grade` writes goes through ``csv_cell`` and every line it
prints through ``printable``.
"""
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def printable(text):
    """``text`` without control characters (ANSI escapes, carriage returns); tabs and
    newlines become spaces, so one line stays one line."""
    return _CONTROL.sub("", str(text).replace("\t", " ").replace("\n", " "))


def printable_lines(out):
    """``out`` (a print-like function) that prints each line through ``printable``."""
    def write(line=""):
        out("\n".join(printable(part) for part in str(line).split("\n")))
    return write


def csv_cell(text):
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a
    leading apostrophe (OWASP's advice), and control characters are dropped."""
    text = _CONTROL.sub("", str(text))
    return "'" + text if text.startswith(_FORMULA_START) else text


def from_csv_cell(text):
    """A cell of a CSV this package wrote, as it was before ``csv_cell`` (control
    characters aside)."""
    return text[1:] if text[:1] == "'" and text[1:2] and text[1] in _FORMULA_START else text

"""What a terminal shows after a program's output: the screen, not the byte stream.

An interactive display (the offline engine's rows of running steps, like the
Pulumi CLI's) redraws lines in place with cursor movements; a test that
asserts on "the final output" must apply them. :func:`screen` understands the
few controls such displays use: ``\\r``, ``\\n``, ``ESC[nA`` / ``ESC[nF``
(cursor up, to column 0 for ``F``), ``ESC[J`` (clear to the end of the
screen) and ``ESC[K`` (clear to the end of the line); other CSI sequences
(colours) are dropped. Lines are never wrapped (the display cuts its rows to
the terminal's width).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])|\r\n|\r|\n|[^\x1b\r\n]+|\x1b", re.S)


def screen(raw: str) -> list[str]:
    """The lines a terminal holds once ``raw`` is written to it, trailing blank lines dropped."""
    lines: list[str] = [""]
    row, col = 0, 0
    for match in _CONTROL.finditer(raw):
        token = match.group(0)
        if match.group(2):
            count = int(match.group(1) or 1)
            command = match.group(2)
            if command in "AF":
                row = max(0, row - count)
                col = 0 if command == "F" else col
            elif command == "J":
                del lines[row + 1:]
                lines[row] = lines[row][:col]
            elif command == "K":
                lines[row] = lines[row][:col]
        elif token in ("\r\n", "\n"):
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\r":
            col = 0
        elif token != "\x1b":
            current = lines[row].ljust(col)
            lines[row] = current[:col] + token + current[col + len(token):]
            col += len(token)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines

"""Rendering: number formatting, the stamp line of a section, and the generated blocks in README.md / model_card.md.

A generated block sits between `<!-- benchmark:NAME -->` and `<!-- /benchmark:NAME -->`; `write_blocks` replaces
what is between them with the section's tables rendered from results.json, so the documents never hold pasted
numbers."""

import math
import re


def fmt(value, digits: int = 2) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "n/a"
        if abs(value) >= 1e4 or (digits == 0 and abs(value) >= 1e3):
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def stamp_line(stamp: dict) -> str:
    mode = " (--quick: tiny data, not a measurement of record)" if stamp.get("quick") else ""
    line = (
        f"Measured {stamp['date']} at git {stamp['git']} on {stamp['machine']}, torch {stamp['torch']} "
        f"({stamp['torch_threads']} thread(s)), load average at start {stamp['load_average_at_start'][0]:.1f}, "
        f"in {stamp['wall_s'] / 60:.1f} min by `{stamp['command']}`{mode}."
    )
    return f"{line} {stamp['note']}" if stamp.get("note") else line


def table(header: list[str], align: list[str], rows: list[list]) -> list[str]:
    """A Markdown table; `align` holds "l" or "r" per column."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def open_marker(name: str) -> str:
    return f"<!-- benchmark:{name} -->"


def close_marker(name: str) -> str:
    return f"<!-- /benchmark:{name} -->"


def block_names(text: str) -> list[str]:
    """The names of the generated blocks in a document, in order."""
    return re.findall(r"<!-- benchmark:([a-z0-9_]+) -->", text)


def write_blocks(text: str, blocks: dict[str, str]) -> str:
    """`text` with the content of every marked block whose name is in `blocks` replaced. A block opened and not
    closed is an error naming it."""
    for name in block_names(text):
        if name not in blocks:
            continue
        start, end = open_marker(name), close_marker(name)
        if text.count(end) != 1 or text.count(start) != 1:
            raise ValueError(f"benchmark block {name!r} needs exactly one {start} and one {end}")
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{blocks[name].strip()}\n{end}{tail}"
    return text


def read_block(text: str, name: str) -> str:
    """The content of one generated block (as `write_blocks` writes it, without the surrounding newlines)."""
    return text.split(open_marker(name), 1)[1].split(close_marker(name), 1)[0].strip()

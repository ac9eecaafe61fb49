#!/usr/bin/env python3
"""The manual pages in man/ are generated from their markdown source in docs/ (one source):

    scripts/man.py            write man/mrproxy.8 and man/mrproxy.conf.5
    scripts/man.py --check    fail when they differ from what the markdown gives

It reads the markdown the pages are written in, nothing more: `#` title, `##`/`###` headings,
paragraphs, fenced code blocks, `- ` lists, definition lists (a line, then `: ` text), tables,
and inline `code`, **bold** and *italic*.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [("docs/mrproxy.8.md", "man/mrproxy.8"), ("docs/mrproxy.conf.5.md", "man/mrproxy.conf.5")]
DATE = "2026-12-05"


def escape(text):
    text = text.replace("\\", "\\e")
    return text.replace("-", "\\-")


def inline(text):
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`)", text)):
        if i % 2:
            out.append("\\fB" + escape(part[1:-1]) + "\\fR")
            continue
        part = escape(part)
        part = re.sub(r"\*\*(.+?)\*\*", r"\\fB\1\\fR", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\\fI\1\\fR", part)
        out.append(part)
    return "".join(out)


def line(text):
    """A text line that roff does not take for a request."""
    text = inline(text.strip())
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def table(rows, out):
    cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
    header, body = cells[0], [r for r in cells[2:]]
    for row in body:
        out.append(".TP")
        out.append(line(row[0]))
        extra = []
        for name, value in zip(header[1:-1], row[1:-1]):
            if value:
                extra.append(f"{name}: {value}.")
        out.append(line(" ".join(extra + [row[-1]])))


def continuation(lines, i, out):
    """Appends the indented lines from `i` on (a list item's or a definition's continuation)
    and returns the index of the first line after them."""
    while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
        out.append(line(lines[i]))
        i += 1
    return i


def convert(markdown, source):
    lines = markdown.split("\n")
    title = lines[0].lstrip("# ").strip()
    m = re.fullmatch(r"([\w.]+)\((\d)\)", title)
    if not m:
        sys.exit(f"{source}: the first line must be '# NAME(SECTION)'")
    name, section = m.groups()
    out = [
        f'.\\" Generated from {source} by scripts/man.py; edit the markdown, not this file.',
        f'.TH {name.upper()} {section} {DATE} "mrproxy" "mrproxy manual"',
    ]
    i = 1
    paragraph = []

    def flush():
        if paragraph:
            out.append(".PP")
            rendered = [line(p) for p in paragraph]
            if out[-2] == ".SH NAME":
                # whatis/apropos (lexgrog) read the NAME line as "name \- description".
                rendered[0] = rendered[0].replace(" — ", " \\- ", 1)
            out.extend(rendered)
            paragraph.clear()

    while i < len(lines):
        text = lines[i]
        if text.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            i += 1
            while not lines[i].startswith("```"):
                code = escape(lines[i])
                out.append("\\&" + code if code.startswith((".", "'")) else code)
                i += 1
            out.append(".RE")
            out.append(".fi")
        elif text.startswith("### "):
            flush()
            out.append(".SS " + inline(text[4:]))
        elif text.startswith("## "):
            flush()
            out.append(".SH " + inline(text[3:]))
        elif text.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            table(rows, out)
            continue
        elif text.startswith("- "):
            flush()
            out.append(".IP \\(bu 2")
            out.append(line(text[2:]))
            i = continuation(lines, i + 1, out)
            continue
        elif text.startswith(": ") and paragraph:
            term = paragraph.pop()
            flush()
            out.append(".TP")
            out.append(line(term))
            out.append(line(text[2:]))
            i = continuation(lines, i + 1, out)
            continue
        elif not text.strip():
            flush()
        else:
            paragraph.append(text)
        i += 1
    flush()
    return "\n".join(out) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for source, target in PAGES:
        roff = convert((ROOT / source).read_text(), source)
        path = ROOT / target
        if check:
            if not path.exists() or path.read_text() != roff:
                stale.append(target)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(roff)
    if stale:
        sys.exit(f"{', '.join(stale)} out of date with docs/: run scripts/man.py and commit")


if __name__ == "__main__":
    main()

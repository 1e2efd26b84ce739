"""The README and docs/: every relative link resolves (file and #anchor), the README stays short,
and every page is reachable from the README or the docs' index."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT = 15_000  # bytes: the README is the front door; the reference lives in docs/

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).+?\1")
# [text](target "title") and ![alt](target); [label]: target (reference definitions)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_files(root: Path) -> list[Path]:
    """The documentation sources: ``README.md`` and ``docs/*.md`` under ``root``."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def prose_lines(text: str, keep_code_spans: bool = False) -> list[str]:
    """The lines of ``text`` outside fenced code blocks, inline code spans removed unless
    ``keep_code_spans`` (a heading's code is part of its anchor; a link in code is no link)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line if keep_code_spans else CODE_SPAN.sub("", line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading (mkdocs gives the same for headings without runs of
    hyphens): markup dropped, lower case, punctuation other than ``-`` and ``_`` removed,
    spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[`*]", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The heading anchors of a Markdown file; a repeated heading gets ``-1``, ``-2``, ..."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text(encoding="utf-8"), keep_code_spans=True):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """Every link target written in a Markdown file, in order (code excluded)."""
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        targets += INLINE_LINK.findall(line)
        ref = REFERENCE.match(line)
        if ref:
            targets.append(ref.group(1))
    return targets


def broken_links(files: list[Path]) -> list[str]:
    """``"FILE: TARGET (why)"`` for each relative link of ``files`` whose file, or whose
    ``#anchor`` in a Markdown file, does not exist. Links with a scheme (``https:``,
    ``mailto:``) are not checked."""
    broken = []
    for path in files:
        for target in links(path):
            if SCHEME.match(target) or target.startswith("//"):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.name}: {target} (no such anchor)")
    return broken


def test_readme_is_at_most_15000_bytes():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_LIMIT, f"README.md is {size} bytes; move reference text to docs/"


def test_every_relative_link_resolves():
    assert broken_links(markdown_files(ROOT)) == []


def test_every_docs_page_is_linked_from_the_readme_or_the_index():
    linked = set()
    for source in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        for target in links(source):
            if not SCHEME.match(target):
                linked.add((source.parent / target.partition("#")[0]).resolve())
    pages = {page.resolve() for page in (ROOT / "docs").glob("*.md")} - {
        (ROOT / "docs" / "index.md").resolve()}
    assert sorted(p.name for p in pages - linked) == []


@pytest.mark.parametrize(("heading", "anchor"), [
    # anchors as GitHub renders them, written by hand
    ("Boxes (PRED.csv and BBox_List_2017.csv)", "boxes-predcsv-and-bbox_list_2017csv"),
    ("Labels CSV (output of `chestx label`)", "labels-csv-output-of-chestx-label"),
    ("`chestx label-audit`", "chestx-label-audit"),
    ("The real NIH ChestX-ray14 release", "the-real-nih-chestx-ray14-release"),
])
def test_slug_matches_the_anchors_github_writes(heading, anchor):
    assert slug(heading) == anchor


def test_a_broken_link_or_anchor_is_found(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    assert broken_links(markdown_files(tmp_path)) == []
    with open(tmp_path / "README.md", "a", encoding="utf-8") as readme:
        readme.write("\nSee [gone](docs/gone.md), [bad anchor](docs/data.md#no-such-part),\n"
                     "[fine](docs/data.md#chestx-synth), `[code](not/a/link.md)` and\n"
                     "[web](https://example.org/x.md).\n")
    (tmp_path / "docs" / "data.md").write_text(
        (tmp_path / "docs" / "data.md").read_text(encoding="utf-8")
        + "\n[self](#nowhere) ![img](missing.png)\n", encoding="utf-8")
    assert broken_links(markdown_files(tmp_path)) == [
        "README.md: docs/gone.md (no such file)",
        "README.md: docs/data.md#no-such-part (no such anchor)",
        "data.md: #nowhere (no such anchor)",
        "data.md: missing.png (no such file)",
    ]

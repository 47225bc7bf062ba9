"""README.md and docs/: every relative link leads to a file that exists (and a `#section` to
a heading in it), every example in examples/ is linked from docs/, and the README keeps the
two commands that work on a fresh machine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: [text](target) in Markdown, outside code spans (good enough for these pages).
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def anchors(page: Path) -> set[str]:
    """GitHub's ids for the headings of `page`: lower case, punctuation dropped, spaces to
    hyphens (https://github.com/github/cmark-gfm: the anchors GitHub renders)."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or (anchor and dest.suffix == ".md"
                                 and anchor not in anchors(dest)):
            broken.append(target)
    assert broken == []


def test_every_example_is_linked_from_the_docs() -> None:
    linked = {(page.parent / t.partition("#")[0]).resolve()
              for page in PAGES if page.parent.name == "docs" for t in links(page)}
    examples = sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file())
    assert examples and [p for p in examples if p.resolve() not in linked] == []


def test_the_readme_gives_the_two_commands_and_links_the_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```sh\n./scripts/demo\n```" in readme
    assert "```sh\n./scripts/test\n```" in readme
    linked = set(links(ROOT / "README.md"))
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= linked

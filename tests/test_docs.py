"""The documentation a newcomer reads: README.md and docs/*.md.

Every relative link and anchor resolves, nothing links outside the repository (pages work with no
network), the README stays short and starts with the two commands, every setting is documented,
and the code cites the docs/ pages rather than documents outside the repository.
"""

import re
from pathlib import Path

import pytest
from graphql import GraphQLError, GraphQLSchema, GraphQLSyntaxError, build_schema, parse, validate

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
GRAPHQL_BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _prose(text: str) -> str:
    """The page without its code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", path.read_text(encoding="utf-8")), re.MULTILINE)
    return {slug(h) for h in headings}


def links(path: Path) -> list[str]:
    return [a or b for a, b in LINK.findall(_prose(path.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", target):
            continue
        if re.match(r"[a-z]+:", target) or target.startswith("/"):
            broken.append(f"{target}: points outside the repository")
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.is_relative_to(ROOT) or not linked.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    assert broken == [], broken


def test_the_link_checker_finds_broken_links(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n[a](#top) [b](#nowhere) [c](missing.md) `[d](skipped.md)`\n")
    assert links(page) == ["#top", "#nowhere", "missing.md"]
    assert anchors(page) == {"top"}
    assert slug("Behind PgBouncer") == "behind-pgbouncer"
    assert slug("When the decision cannot be made: fail-open and fail-closed") == (
        "when-the-decision-cannot-be-made-fail-open-and-fail-closed"
    )


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = set(links(ROOT / "README.md"))
    missing = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme]
    assert missing == []


def test_the_readme_is_short_and_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    first = "\n".join(lines[:6])
    commands = re.findall(r"^make \w+", first, re.MULTILINE)
    assert commands == ["make run", "make test"], first


def test_every_setting_is_documented() -> None:
    code = "\n".join(p.read_text() for p in (ROOT / "src" / "spendlimits").rglob("*.py"))
    names = set(re.findall(r"\"((?:SPENDLIMITS_[A-Z_]+)|DATABASE_URL)\"", code))
    assert {"DATABASE_URL", "SPENDLIMITS_CORS_ORIGINS", "SPENDLIMITS_MIGRATIONS_DIR"} <= names
    configuration = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    everywhere = "\n".join(p.read_text(encoding="utf-8") for p in PAGES)
    # Settings of other areas may be documented on their own pages, linked from configuration.md.
    undocumented = sorted(n for n in names if f"`{n}`" not in configuration and f"`{n}`" not in everywhere)
    assert undocumented == []


def test_code_cites_docs_pages_not_documents_outside_the_repository() -> None:
    outside = re.compile(
        "|".join(map(re.escape, ["strict" + ".md", "performance" + ".md", "../" + "shared"]))
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("src", "tests", "bench", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if outside.search(line)
    ]
    assert found == []


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))


def example_errors(schema: GraphQLSchema, page: str) -> list[str]:
    """What GraphiQL would say of each ```graphql block of a page: nothing when it parses and validates."""
    found = []
    for number, block in enumerate(GRAPHQL_BLOCK.findall(page), start=1):
        errors: list[GraphQLError]
        try:
            errors = validate(schema, parse(block))
        except GraphQLSyntaxError as error:
            errors = [error]
        found += [f"block {number}: {error.message}" for error in errors]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_graphql_example_is_valid_against_the_schema(page: Path, schema: GraphQLSchema) -> None:
    """A reader copies these into GraphiQL: each block must parse and validate as it stands."""
    assert example_errors(schema, page.read_text(encoding="utf-8")) == []


def test_the_example_checker_finds_invalid_examples(schema: GraphQLSchema) -> None:
    fence = "```"
    page = "\n\n".join(
        f"{fence}graphql\n{block}\n{fence}"
        for block in ("query { viewer { username } }", "query { me { id } }", "query { viewer {")
    )
    errors = example_errors(schema, f"# Top\n\n{page}\n")
    assert [e.split(":")[0] for e in errors] == ["block 2", "block 3"]
    assert "Cannot query field 'me'" in errors[0]
    assert "Syntax Error" in errors[1]

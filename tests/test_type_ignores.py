"""Every `type: ignore` names its error code and says why: `# type: ignore[code]  # why`.

mypy --strict checks src/ and tests/ (make typecheck); an ignore silences it, so each one must be
narrow and explained. Comments are read with tokenize, so strings mentioning ignores do not count.
"""

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("src", "tests", "scripts", "bench")
IGNORE = re.compile(r"type:\s*ignore")
EXPLAINED = re.compile(r"type:\s*ignore\[[\w\-]+(,\s*[\w\-]+)*\]\s+#\s*\S")


def unexplained_ignores(source: str) -> list[int]:
    """Line numbers of `type: ignore` comments without an error code or without a reason after it."""
    return [
        token.start[0]
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
        and IGNORE.search(token.string)
        and not EXPLAINED.search(token.string)
    ]


def test_the_check_tells_an_explained_ignore_from_a_bare_one() -> None:
    source = (
        "a = f()  # type: ignore\n"
        "b = f()  # type: ignore[arg-type]\n"
        "c = f()  # type: ignore  # no code given\n"
        "d = f()  # type: ignore[arg-type]  #\n"
        "e = f()  # type: ignore[arg-type]  # the stub is wrong about None\n"
        "g = f()  # type: ignore[misc, arg-type] # two codes, one reason\n"
        "h = 'type: ignore'\n"
    )
    assert unexplained_ignores(source) == [1, 2, 3, 4]


def test_every_type_ignore_in_the_repository_says_why() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in CHECKED
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in unexplained_ignores(path.read_text())
    ]
    assert found == [], "write `# type: ignore[code]  # why` at: " + ", ".join(found)

"""What a client must never see in a response, told apart from what the client itself sent.

A server error that echoes the client's input ("found \"postgresql+asyncpg\"") is no leak, but a
plain substring check flags it. So the client's own strings (every string in the request's
variables and every string literal in its query) are taken out of the response first: a response
string that is one of them whole, and each occurrence quoted the ways an error message quotes a
value (GraphQL/JSON "…", Python repr '…'). What stays is the server's own text.
"""

import json
from collections.abc import Iterator, Mapping

from graphql import GraphQLError, StringValueNode, parse, print_ast, visit
from graphql.language import Visitor

#: What a client must never see, in any response (spec section 9).
LEAKS = ("Traceback", "asyncpg", "sqlalchemy", "SELECT ", "INSERT ", "UPDATE ", 'File "')


class _StringLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        self.found.append(node.value)


def strings_in(value: object) -> Iterator[str]:
    """Every string in decoded JSON, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def client_strings(request: Mapping[str, object]) -> set[str]:
    """The strings a GraphQL request carries: its variables' and its query's string literals."""
    sent = set(strings_in(request.get("variables")))
    query = request.get("query")
    if isinstance(query, str):
        try:
            document = parse(query)
        except GraphQLError:
            sent.add(query)  # unparsable: only the document as a whole can be echoed
        else:
            literals = _StringLiterals()
            visit(document, literals)
            sent.update(literals.found)
    return {value for value in sent if value}


def _echoes(value: str) -> set[str]:
    """The quoted forms in which an error message repeats a value."""
    return {
        print_ast(StringValueNode(value=value)),
        json.dumps(value),
        json.dumps(value, ensure_ascii=False),
        repr(value),
    }


def leaks_in(text: str, request: Mapping[str, object] | None = None) -> list[str]:
    """The leak markers in a response body (JSON strings decoded) that the client did not send."""
    sent = client_strings(request) if request is not None else set()
    whole = sent | {value.strip() for value in sent}
    echoes = sorted({echo for value in sent for echo in _echoes(value)}, key=len, reverse=True)
    try:
        pieces = list(strings_in(json.loads(text)))
    except ValueError:
        pieces = [text]
    found: list[str] = []
    for piece in pieces:
        if piece in whole:
            continue
        for echo in echoes:
            # A placeholder, not nothing: the text either side must not join into a marker.
            piece = piece.replace(echo, "\x00")
        found += [f"{leak!r} reached a client: {piece[:500]}" for leak in LEAKS if leak in piece]
    return found


def assert_no_leak(text: str, request: Mapping[str, object] | None = None) -> None:
    found = leaks_in(text, request)
    assert not found, "\n".join(found)

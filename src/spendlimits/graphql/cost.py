"""The static cost of a document: how many list items (nodes) it can make the server return.

Counted as GitHub's GraphQL API counts: every list field contributes the items it may return, times
the items of every list above it. A connection (a field with ``first``) returns ``first`` items;
its ``nodes`` list is those same items and adds nothing. A list without ``first`` has a fixed
estimate per field (``LIST_ESTIMATES``): the directory caps none of them, so the figures are
generous sizes for a real deployment, not maxima.

Nothing can hide the cost: aliases are separate fields and count separately, fragments (named and
inline) are expanded where they are spread, and a ``first`` given as a variable counts with the
request's value, or the variable's default, or else the largest page the API serves. Introspection
(``__schema``, ``__type``) is bounded by the schema and counts nothing.

The shape of a document is analysed once and cached; each request only multiplies its variables
into it, so the check costs microseconds on the hot path (bench/http_check.py).
"""

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql.type.definition import GraphQLOutputType

from spendlimits.graphql.pagination import MAX_FIRST

#: Default budget in nodes. A page of 500 users with their groups, organizations and statuses is
#: about 8,000; 10,000 leaves room for one more small list and refuses any nested page of pages.
DEFAULT_MAX_COST = 10_000

#: Items assumed for a list field that has no ``first``. Measured by nothing but sense: a user is in
#: a few organizations and a handful of groups (one Everyone group per organization).
LIST_ESTIMATES: Mapping[str, int] = {
    "User.organizations": 5,
    "User.groups": 10,
    "Query.organizations": 50,
    "Query.chatModels": 50,
}
#: Any other list without ``first`` (UserError lists, paths in errors).
DEFAULT_LIST_ESTIMATE = 10

#: A factor of a term: a known number, or a variable's name with the number to use without it.
Factor = int | tuple[str, int]


@dataclass(frozen=True, slots=True)
class Shape:
    """A document's cost as a sum of products; ``terms`` hold only the factors that are variables."""

    constant: int
    #: (known part of the product, the variables in it) for each list below a variable ``first``.
    terms: tuple[tuple[int, tuple[tuple[str, int], ...]], ...]

    def estimate(self, variables: Mapping[str, Any] | None) -> int:
        total = self.constant
        given = variables or {}
        for known, factors in self.terms:
            product = known
            for name, fallback in factors:
                # An explicit value that is not a page size (null, text) counts as the largest page.
                product *= _page_size(given[name], MAX_FIRST) if name in given else fallback
            total += product
        return total


def _page_size(value: object, fallback: int) -> int:
    # A value the API will refuse (not a number, over the largest page) counts as the largest page.
    if isinstance(value, bool) or not isinstance(value, int):
        return fallback
    return max(0, min(value, MAX_FIRST))


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variable_defaults: dict[str, int],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_defaults = variable_defaults
        self.constant = 0
        self.terms: list[tuple[int, tuple[tuple[str, int], ...]]] = []

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        factors: tuple[Factor, ...],
        spreading: frozenset[str],
    ) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, factors, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, target or parent, factors, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                # A cycle is invalid GraphQL (refused by validation); never loop on one here.
                if fragment is None or name in spreading:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                self.selections(fragment.selection_set, target, factors, spreading | {name})

    def field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType,
        factors: tuple[Factor, ...],
        spreading: frozenset[str],
    ) -> None:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        definition = parent.fields.get(name)
        if definition is None:
            return
        factor = self.factor(node, parent, definition.args, definition.type)
        if factor is not None:
            factors = (*factors, factor)
            self.add(factors)
        self.selections(node.selection_set, _named(definition.type), factors, spreading)

    def factor(
        self, node: FieldNode, parent: GraphQLNamedType, args: Mapping[str, Any], type_: GraphQLOutputType
    ) -> Factor | None:
        """What this field multiplies the items below it by; None for a single object or scalar."""
        if "first" in args:
            default = args["first"].default_value
            fallback = default if isinstance(default, int) else MAX_FIRST
            for argument in node.arguments or ():
                if argument.name.value != "first":
                    continue
                if isinstance(argument.value, IntValueNode):
                    return _page_size(int(argument.value.value), MAX_FIRST)
                if isinstance(argument.value, VariableNode):
                    # Without a value in the request, the variable's default applies, else the
                    # field's; the request's value, when there is one, replaces both (Shape.estimate).
                    variable = argument.value.name.value
                    return (variable, self.variable_defaults.get(variable, fallback))
                return MAX_FIRST
            return fallback
        if not _is_list(type_):
            return None
        if parent.name.endswith("Connection") and node.name.value == "nodes":
            return None  # the items the connection's ``first`` counted: they multiply nothing again
        return LIST_ESTIMATES.get(f"{parent.name}.{node.name.value}", DEFAULT_LIST_ESTIMATE)

    def add(self, factors: tuple[Factor, ...]) -> None:
        known = 1
        variables: list[tuple[str, int]] = []
        for factor in factors:
            if isinstance(factor, int):
                known *= factor
            else:
                variables.append(factor)
        if variables:
            self.terms.append((known, tuple(variables)))
        else:
            self.constant += known


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _named(type_: Any) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    named: GraphQLNamedType = type_
    return named


def shape(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Shape:
    """The cost shape of the operation a request runs (the named one, or the only one)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    for operation in chosen[:1]:
        defaults = {
            d.variable.name.value: _page_size(int(d.default_value.value), MAX_FIRST)
            for d in operation.variable_definitions or ()
            if isinstance(d.default_value, IntValueNode)
        }
        walker = _Walker(schema, fragments, defaults)
        root = schema.get_root_type(operation.operation)
        if root is not None:
            walker.selections(operation.selection_set, root, (), frozenset())
        return Shape(walker.constant, tuple(walker.terms))
    return Shape(0, ())


class ShapeCache:
    """Shapes remembered per (query text, operation name): hashing a text is cheap, a tree is not."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.shapes: OrderedDict[tuple[str, str | None], Shape] = OrderedDict()

    def get(
        self, schema: GraphQLSchema, query: str, document: DocumentNode, operation_name: str | None
    ) -> Shape:
        key = (query, operation_name)
        found = self.shapes.get(key)
        if found is None:
            found = self.shapes[key] = shape(schema, document, operation_name)
            if len(self.shapes) > self.maxsize:
                self.shapes.popitem(last=False)
        return found


class CostTooHigh(GraphQLError):
    def __init__(self, estimate: int, limit: int) -> None:
        super().__init__(
            f"This query may return up to {estimate:,} nodes, over the limit of {limit:,}. The estimate "
            "multiplies each list's `first` (or its usual size) by the lists above it: ask for smaller "
            "pages or fewer nested lists.",
            extensions={"code": "GRAPHQL_VALIDATION_FAILED", "cost": {"estimate": estimate, "limit": limit}},
        )

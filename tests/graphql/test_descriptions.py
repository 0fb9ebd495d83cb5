"""Every type, field, argument and enum value of the schema has a description: it is the
documentation frontends read (GraphiQL, generated clients)."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)
from graphql.type import introspection_types, specified_scalar_types

from spendlimits.graphql.schema import schema


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    missing: list[str] = []
    for name, type_ in graphql_schema.type_map.items():
        if name in introspection_types or name in specified_scalar_types:
            continue
        if not (type_.description or "").strip():
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if not (arg.description or "").strip()
                ]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [
                f"{name}.{field_name}"
                for field_name, field in type_.fields.items()
                if not (field.description or "").strip()
            ]
        elif isinstance(type_, GraphQLEnumType):
            missing += [
                f"{name}.{value_name}"
                for value_name, value in type_.values.items()
                if not (value.description or "").strip()
            ]
    return sorted(missing)


def test_every_type_field_argument_and_enum_value_has_a_description() -> None:
    missing = undescribed(schema._schema)
    assert missing == [], f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_walk_finds_what_lacks_a_description() -> None:
    sdl = '''
    """Described."""
    type Query {
      """Described."""
      a(x: Int): Int
      b: E
    }
    enum E { ONE }
    '''
    assert undescribed(build_schema(sdl)) == ["E", "E.ONE", "Query.a(x)", "Query.b"]

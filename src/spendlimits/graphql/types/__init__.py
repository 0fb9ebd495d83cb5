"""GraphQL object types, one module per type; each builds itself from a domain dataclass."""

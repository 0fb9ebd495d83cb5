"""The GraphQL API: translates requests into domain calls and domain results into types."""

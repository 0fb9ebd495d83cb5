"""spendlimits: a GraphQL spend-limit service for LLM agents."""

__version__ = "0.1.0"

"""Query fields, grouped by area; schema.py merges them into one Query type."""

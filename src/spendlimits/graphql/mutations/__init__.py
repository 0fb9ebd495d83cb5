"""Mutation fields, grouped by area; schema.py merges them into one Mutation type."""

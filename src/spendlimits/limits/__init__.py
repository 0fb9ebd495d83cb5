"""The limits domain: periods, configuration, the limit hierarchy, spend, status and the admission check.

No GraphQL here: the API layer translates these functions' dataclasses into types.
"""

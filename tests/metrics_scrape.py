"""Reading a /metrics scrape in tests of several processes."""

from prometheus_client.parser import text_string_to_metric_families


def requests_served(text: str, operation: str) -> float:
    """GraphQL requests of ``operation`` that a scrape counts, whatever their outcome."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "spendlimits_graphql_requests_total" and sample.labels.get("operation") == operation
    )

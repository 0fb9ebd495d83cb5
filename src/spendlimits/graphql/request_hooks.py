"""The schema's one extension: every per-request hook of the service, in the order it needs.

strawberry runs each extension's hooks through a generator, a context manager and an exit stack per
stage and request; four extensions cost 25-45 µs of CPU per request more than one doing the same
work (a loop of ``schema.execute``; BENCHMARKS.md, "Decisions at less CPU"). The rules stay in
their modules; this only calls them. No hook here runs per field.
"""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from spendlimits.graphql import document_cache, errors, hardening, operation_outcome


class RequestHooks(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        hardening.limit_document(context)
        yield
        # Not reached when the operation raised (a request error the view answers itself).
        errors.assign_codes(context)
        # After the codes are assigned: the log line and metrics read them.
        operation_outcome.record(context)

    def on_parse(self) -> Iterator[None]:
        document_cache.cached_parse(self.execution_context)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document_cache.cached_validate(context)
        hardening.limit_cost(context)
        yield

"""OpenTelemetry tracing; W3C trace context carried in NATS headers and gRPC metadata."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

_provider: TracerProvider | None = None
TRACES_FILE_DELAY_MS = 200  # finished spans reach the traces file within about this long


class JsonlSpanExporter(SpanExporter):
    """Appends one JSON line per finished span: for local runs and tests."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = []
        for span in spans:
            ctx = span.get_span_context()
            if ctx is None:
                continue
            lines.append(
                json.dumps(
                    {
                        "service": span.resource.attributes.get("service.name", ""),
                        "name": span.name,
                        "trace_id": format(ctx.trace_id, "032x"),
                        "span_id": format(ctx.span_id, "016x"),
                        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else "",
                        "start_ns": span.start_time,
                        "end_ns": span.end_time,
                        "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                    }
                )
            )
        with self._lock, self._path.open("a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        return SpanExportResult.SUCCESS


def setup_tracing(service: str, *, otlp_endpoint: str = "", traces_file: str = "") -> TracerProvider | None:
    """Install the process's tracer provider with the configured exporters.

    With no exporter configured, no SDK provider is installed: spans are then non-recording,
    costing almost nothing, while the incoming trace context still propagates (logs keep
    their trace_id and outgoing messages and calls carry the caller's traceparent).
    """
    global _provider
    if not traces_file and not otlp_endpoint:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if traces_file:
        # exported by the processor's own thread, as OTLP is: a span never costs a request a file write
        processor = BatchSpanProcessor(JsonlSpanExporter(traces_file), schedule_delay_millis=TRACES_FILE_DELAY_MS)
        provider.add_span_processor(processor)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Export what is still queued (the traces file, OTLP) and stop the exporters."""
    if _provider is not None:
        _provider.shutdown()


def tracer(name: str) -> trace.Tracer:
    return _tracer(name)


def tracing_on() -> bool:
    """Whether spans are recorded: :func:`setup_tracing` installed a provider with an exporter."""
    return _provider is not None


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context (``traceparent``) into ``carrier``.

    With tracing off this is the current span context as a ``traceparent`` and nothing more
    (the hot path of every publish); with tracing on, the configured propagators.
    """
    if tracing_on():
        propagate.inject(carrier)
        return carrier
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        carrier["traceparent"] = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(carrier)


@functools.cache
def _tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def remote_span(traceparent: str | None) -> trace.Span:
    """The caller's span as ``traceparent`` names it (W3C ``00-<trace>-<span>-<flags>``), or the invalid span."""
    if not traceparent or len(traceparent) != 55 or traceparent[:3] != "00-":
        return trace.INVALID_SPAN
    try:
        ctx = trace.SpanContext(
            trace_id=int(traceparent[3:35], 16),
            span_id=int(traceparent[36:52], 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(int(traceparent[53:55], 16)),
        )
    except ValueError:
        return trace.INVALID_SPAN
    return trace.NonRecordingSpan(ctx) if ctx.is_valid else trace.INVALID_SPAN


@contextmanager
def in_span(span: trace.Span) -> Iterator[trace.Span]:
    """``span`` as the current span while the block runs (logs carry its trace id, what is published
    or called carries it on); an exception leaving the block is recorded on it."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield span
    except Exception as exc:
        if span.is_recording():
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        otel_context.detach(token)


@contextmanager
def span_from(carrier: Mapping[str, str], name: str, tracer_name: str = "vapora") -> Iterator[trace.Span]:
    """Start a span whose parent is the context carried in ``carrier``.

    With tracing off no span is started: the caller's span context becomes the current one,
    so logs keep its trace id and what this handler publishes or calls carries it on.
    """
    if not tracing_on():
        with in_span(remote_span(carrier.get("traceparent"))) as span:
            yield span
        return
    ctx = extract(carrier)
    with _tracer(tracer_name).start_as_current_span(name, context=ctx) as span:
        yield span


def start_consumer_span(
    headers: Mapping[str, str], subject: str, consumer: str, service: str, *, message_id: str = ""
) -> trace.Span:
    """The span of one message handled by a bus consumer, child of the publisher's context, started:
    end it once the message is settled. With tracing off it is the publisher's span context itself
    (not recording; ending it does nothing)."""
    if not tracing_on():
        return remote_span(headers.get("traceparent"))
    span = _tracer(service).start_span(f"{consumer} {subject}", context=extract(headers))
    span.set_attribute("messaging.system", "nats")
    span.set_attribute("messaging.destination.name", subject)
    span.set_attribute("messaging.consumer.group.name", consumer)
    if message_id:
        span.set_attribute("messaging.message.id", message_id)
    return span


@contextmanager
def consumer_span(
    headers: Mapping[str, str], subject: str, consumer: str, service: str, *, message_id: str = ""
) -> Iterator[trace.Span]:
    """The span around one message handled by a bus consumer, child of the publisher's context."""
    span = start_consumer_span(headers, subject, consumer, service, message_id=message_id)
    try:
        with in_span(span):
            yield span
    finally:
        span.end()


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""

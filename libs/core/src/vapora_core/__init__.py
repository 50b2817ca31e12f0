"""Shared foundation of every Vapora service.

Modules, one job each:

- ``settings``   pydantic-settings base class (env prefix ``VAPORA_``)
- ``logging``    JSON logs carrying service, trace_id, span_id
- ``telemetry``  OpenTelemetry tracing and W3C context propagation
- ``metrics``    Prometheus registry and the ``/metrics`` + ``/readyz`` HTTP endpoint
- ``errors``     the one error hierarchy, each error saying whether a retry can help
- ``retry``      tenacity policies that retry only retryable errors
- ``bus``        NATS JetStream through nats-py: topology, codec, one consumer, dead-lettering
- ``store``      SurrealDB through the official SDK, one namespace per service
- ``grpc``       grpc.aio servers (health, reflection, error mapping) and clients
- ``lifecycle``  signals, graceful shutdown, reload
- ``parts``      an app's start steps, each registering its stop, stopped in reverse
- ``aio``        background loops that keep going through failures and stop cleanly
- ``batching``   the one write-behind batcher: many writes, one store round trip
"""

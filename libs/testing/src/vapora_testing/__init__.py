"""Test support: a real nats-server with JetStream, embedded SurrealDB stores, and the fleet.

Loaded as a pytest plugin (entry point ``pytest11``), so every test in the workspace
can ask for ``nats_url``, ``nats_cluster`` (three nodes), ``bus``, ``store``, ``kg_app`` (a real
knowledge-graph) or ``fleet``.
"""

"""Test support: a real nats-server with JetStream, embedded SurrealDB stores, and the fleet.

Loaded as a pytest plugin (entry point ``pytest11``), so every test in the workspace
can ask for ``nats_url``, ``nats_cluster`` (a 3-node JetStream cluster), ``bus``, ``store``,
``fleet_factory`` or the job-token fixtures (``job_keys``, ``job_signer``, ``mint_job_token``).
It imports no service: fixtures that need one live with the tests that use them.
"""

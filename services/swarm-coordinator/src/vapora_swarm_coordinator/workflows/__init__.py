"""Workflow runs: templates of stages (a DAG of tasks and approval gates), and runs of them.

- ``definitions.py``, ``catalogue.py``, ``templates.py``: what a template is, the checks it must
  pass, where templates come from (``config/workflows.toml``, and each workspace's own);
- ``model.py``, ``repository.py``: a run, its stages and gate decisions as records, and their
  conditional writes;
- ``draft.py``, ``transitions.py``: how a run moves, as pure functions on a copy of it;
- ``engine.py``: one change of a run (read, plan, one conditional write, then its effects) and
  the runs' API; ``effects.py``, ``tasks.py``: what a stored transition publishes;
- ``recovery.py``: what a crash between a write and its publish left, found and finished;
- ``messages.py``, ``metrics.py``: the protobuf of workflows, the workflow metrics.

docs/workflows.md says what is guaranteed and what is not.
"""

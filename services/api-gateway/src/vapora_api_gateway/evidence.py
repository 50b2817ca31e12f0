"""Messages the API shows whole, field for field: an execution's evidence (the artifacts of its
commit, its verification), an assignment's score breakdown, a learning curve's points.

:func:`fields_dict` takes the names from the message, so a field added to ``evidence.proto``,
``ScoreBreakdown`` or ``CurvePoint`` shows in the API without a second list of names to keep in
step (the response models in ``code_models.py`` and ``models.py`` say which fields the OpenAPI
document names).
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message


def fields_dict(m: Message) -> dict[str, Any]:
    """Every field of ``m`` by its name, defaults included, in the message's order: repeated fields
    as lists, maps as dicts, nested messages as dicts of their own fields, numbers as numbers
    (int64 too, where protobuf's JSON mapping would give a string)."""
    out: dict[str, Any] = {}
    for f in m.DESCRIPTOR.fields:
        value = getattr(m, f.name)
        kind = f.message_type
        nested = kind is not None
        if kind is not None and kind.GetOptions().map_entry:
            scalar = kind.fields_by_name["value"].message_type is None
            out[f.name] = {k: v if scalar else fields_dict(v) for k, v in value.items()}
        elif f.is_repeated:
            out[f.name] = [fields_dict(v) for v in value] if nested else list(value)
        else:
            out[f.name] = fields_dict(value) if nested else value
    return out

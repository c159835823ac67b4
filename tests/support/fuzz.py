"""The collector's fuzz cases, shared by its tests and the streaming differential test: JSON values, and
valid events with fields replaced, removed or added."""

from __future__ import annotations

import json

from hypothesis import strategies as st

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=8)


@st.composite
def near_valid_events(draw, base):
    """Valid events with one or more fields replaced, removed or added."""
    event = dict(draw(st.sampled_from(base)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        field = draw(st.sampled_from(sorted(event) or ["x"]))
        if action == "replace":
            event[field] = draw(json_values)
        elif action == "remove":
            event.pop(field, None)
        else:
            event[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
    return event


def dumps(value) -> bytes:
    # The standard library also writes integers beyond 64 bits, which orjson refuses.
    return json.dumps(value).encode()

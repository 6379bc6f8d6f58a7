"""Every storage decoder against its fuzz strategy, at a budget the normal test run can afford (a few seconds).

The oracle (`tests/_fuzz_targets.py`): a value, or a `NovelAIError` subclass; never any other exception. `make fuzz`
runs the same targets for much longer and reports every raw exception it finds.
"""

from __future__ import annotations

from typing import Any

import pytest
from _fuzz_targets import TARGETS, Target, check
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Deep and bomb-shaped inputs are large by design: generating them is the point, not a smell.
BOUNDED = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("target", TARGETS, ids=[target.name for target in TARGETS])
@BOUNDED
@given(data=st.data())
def test_decoder_returns_a_value_or_a_typed_error(target: Target, data: Any) -> None:
    check(target, data.draw(target.strategy, label=target.name))

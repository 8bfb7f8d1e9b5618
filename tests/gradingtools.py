"""Helpers shared by the tests of nnlib.grading: run a check, expect a clear one-line failure."""
import copy
import functools
import re

import numpy as np
import pytest

from coursetools.curriculum import CURRICULUM
from nnlib import grading

HIDDEN = pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])


def chapter_checks(assignment):
    """{graded name: its check} for one assignment of the curriculum."""
    return {name: getattr(grading, f"check_{name}") for name in CURRICULUM[assignment]}


def recording(fn):
    """Wrap ``fn`` so the arguments of its last call are kept (source stays ``fn``'s)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        wrapper.calls.append(copy.deepcopy(args))
        return fn(*args, **kwargs)
    wrapper.calls = []
    return wrapper


def one_clear_line(message):
    assert message.strip(), "empty message"
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message, message


def failure(check, fn, hidden, match):
    """Run ``check(fn)``; it must fail with a GradingError whose one-line message matches."""
    with pytest.raises(AssertionError, match=match) as info:
        check(fn, hidden=hidden)
    assert isinstance(info.value, grading.GradingError)
    message = str(info.value)
    one_clear_line(message)
    return message


def _shown(value):
    """Formatted forms of an expected number worth looking for (skip 0, 1, 0.5, ...)."""
    forms = {f"{value:.6g}", repr(value), f"{value:.4g}"}
    return {s for s in forms if len(re.sub(r"[^1-9]", "", s.split("e")[0])) >= 3}


def assert_no_leak(message, expected):
    """No expected entry appears in the message (the student's own -value is allowed)."""
    for value in np.atleast_1d(np.asarray(expected, dtype=float)).ravel():
        if not np.isfinite(value):
            continue
        for s in _shown(float(value)):
            assert not re.search(r"(?<![\d.\-])" + re.escape(s) + r"(?!\d)", message), (
                f"expected value {s} leaked into: {message}")


def wrong(check, fn, reference, hidden, match):
    """A wrong answer: the diagnosis matches and the reference value is not revealed."""
    spy = recording(fn)
    message = failure(check, spy, hidden, match)
    assert spy.calls, "the student's function was never called"
    try:
        expected = reference(*copy.deepcopy(spy.calls[-1]))
    except ValueError:      # the failing call was the length-mismatch one
        return message
    assert_no_leak(message, expected)
    return message


def passes(check, fn, hidden, capsys, name):
    check(fn, hidden=hidden)
    out = capsys.readouterr().out
    assert re.search(rf"✓ {name}: \d+ checks? passed", out), out

"""A check gives the same verdict in the student's Jupyter and under `course grade`: here
the checks that read more than a function's answers (its source), run both ways."""
import pytest

from nbtools import run_cell
from remotetools import cell_passes, student_process

LOOP = "def dot_loop(x, w):\n    total = 0.0\n    for a, b in zip(x, w):\n        total += a * b\n" \
       "    if len(x) != len(w):\n        raise ValueError('lengths')\n    return total\n"
NUMPY = "import numpy as np\ndef dot_loop(x, w):\n    if len(x) != len(w):\n" \
        "        raise ValueError('lengths')\n    return float(np.dot(x, w))\n"
NO_SOURCE = "import numpy as np\nexec(compile(" + repr(NUMPY.split("\n", 1)[1]) + \
            ", '<made on the fly>', 'exec'))\n"
CASES = {       # student cell -> the failure's words (None: passes)
    LOOP: None,
    NUMPY: "yours has no loop",
    NO_SOURCE: "source could not be read",
}
TEST_CELL = "from nnlib import grading\ngrading.check_dot_loop(dot_loop, hidden={hidden})\n"


def _namespace(cell):
    namespace = {}
    run_cell(cell, f"<cell {abs(hash(cell))}>", namespace)
    return namespace


@pytest.mark.parametrize("hidden", [False, True])
@pytest.mark.parametrize("cell", list(CASES), ids=["loop", "numpy", "no source"])
def test_dot_loop_s_loop_is_seen_the_same_way_both_ways(cell, hidden):
    expected = CASES[cell]
    source = TEST_CELL.format(hidden=hidden)
    namespace = _namespace(cell)
    try:
        exec(source, dict(namespace))
        here = None
    except AssertionError as error:
        here = str(error)
    with student_process(namespace) as connection:
        ok, outputs = cell_passes(source, connection)
    there = None if ok else outputs[-1]["evalue"]
    assert here == there
    if expected is None:
        assert here is None
    else:
        assert here is not None and expected in here

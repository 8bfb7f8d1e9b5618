"""The nnlib a chapter is graded with (coursetools.grade.exam): none of the answers it grades,
all of what they build on."""
import subprocess
import sys

import pytest

from coursetools.curriculum import CURRICULUM
from coursetools.grade import exam
from nnlib.grading.core import BUILDS_ON

PROBE = """
import inspect, sys
sys.path.insert(0, {folder!r})
import nnlib, nnlib.grading, coursetools.grade.protocol.kernel_side, nnlib.plotting, nnlib.datasets
assert nnlib.__file__.startswith({folder!r})
outcomes = {{}}
for name in {names!r}:
    try:
        thing = getattr(nnlib, name)
        if isinstance(thing, type):
            class Mine(thing):
                pass
        else:
            required = [p for p in inspect.signature(thing).parameters.values()
                        if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
            thing(*[None] * len(required))
        outcomes[name] = 'ran'
    except RuntimeError as error:
        outcomes[name] = 'stub' if 'is not available while' in str(error) else 'other'
    except Exception:
        outcomes[name] = 'ran'          # the real thing, complaining about its arguments
print(outcomes)
"""


@pytest.mark.parametrize("assignment", list(CURRICULUM))
def test_a_chapter_s_nnlib_has_stubs_for_its_answers_and_real_building_blocks(assignment,
                                                                          tmp_path):
    folder, stubbed = exam.build(assignment, tmp_path)
    answers = set(CURRICULUM[assignment])
    built_on = {n for g in CURRICULUM[assignment] for n in BUILDS_ON.get(g, ())} - answers
    assert answers <= stubbed and not built_on & stubbed
    names = sorted(answers | built_on)
    done = subprocess.run([sys.executable, "-c", PROBE.format(folder=str(tmp_path), names=names)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outcomes = eval(done.stdout)      # noqa: S307  our own probe's dict of strings
    assert {n for n, o in outcomes.items() if o == "stub"} == answers
    assert {n for n, o in outcomes.items() if o == "ran"} == built_on


def test_a_chapter_s_own_building_blocks_are_stubs_the_functions_among_them_served():
    assert exam.building_blocks("01_dot_product") == set()
    assert exam.served("07_train_loop") == {"iterate_minibatches"}
    assert exam.building_blocks("08_autograd") == {"Value", "Neuron", "Layer"}
    assert exam.served("08_autograd") == set()
    assert exam.served("09_softmax_mlp") == exam.building_blocks("09_softmax_mlp") == {
        "softmax", "one_hot", "cross_entropy", "softmax_cross_entropy_backward", "kaiming_init"}


def test_a_stub_s_message_is_recognised():
    assert exam.is_stub_message("nnlib's dense is not available while 01_dot_product is "
                                "graded: the grader compares your work with it")
    assert not exam.is_stub_message("dense raised RuntimeError")


UNLOCK_PROBE = """
import sys
sys.path.insert(0, {folder!r})
import nnlib, nnlib.autograd
from coursetools.grade.protocol import kernel_side
before = {{}}
for name in ("Value", "Neuron"):
    try:
        getattr(nnlib, name)(2.0) if name == "Value" else nnlib.Neuron(2)
        before[name] = "ran"
    except RuntimeError as error:
        before[name] = "stub" if "is not available while" in str(error) else "other"
kernel_side._unlock("nnlib.autograd", "Value", {source!r})
a = nnlib.Value(2.0)
(a * a + 1).backward()
print(before, a.grad, nnlib.Value is nnlib.autograd.Value is kernel_side.UNLOCKED["Value"])
"""


def test_a_building_block_class_is_a_stub_until_its_code_is_handed_over(tmp_path):
    """Chapter 8's Value: nothing of nnlib's in the sandbox before test_Value is decided,
    nnlib's own class everywhere in the kernel's nnlib after (kernel_side._unlock)."""
    import inspect

    import nnlib
    exam.build("08_autograd", tmp_path)
    probe = UNLOCK_PROBE.format(folder=str(tmp_path), source=inspect.getsource(nnlib.Value))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["{'Value':", "'stub',", "'Neuron':", "'stub'}", "4.0", "True"]


GRADING_PROBE = """
import importlib, sys
sys.path.insert(0, {folder!r})
import nnlib.grading
from coursetools.grade.protocol import kernel_side, wire
from nnlib.grading import core, kernel_functions
found = []
for module in ("softmax", "chain_rule", "remote", "value_reading"):
    try:
        importlib.import_module("nnlib.grading." + module)
        found.append(module)
    except ImportError:
        pass
try:
    nnlib.grading.check_softmax
    found.append("check_softmax")
except AttributeError as error:
    assert "not in the sandbox" in str(error)
print(found)
"""


@pytest.mark.parametrize("assignment", ["03_chain_rule", "09_softmax_mlp"])
def test_the_sandbox_s_nnlib_grading_holds_what_the_kernel_needs_and_no_check(assignment,
                                                                             tmp_path):
    """The checks' helpers compute expected values (chapter 9's cross-entropy band, say):
    none of them is in the sandbox; the protocol and chapter 3's test functions are."""
    exam.build(assignment, tmp_path)
    done = subprocess.run([sys.executable, "-c", GRADING_PROBE.format(folder=str(tmp_path))],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

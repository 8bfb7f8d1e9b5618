"""Nothing from the student's side of the wire is trusted (coursetools.grade.protocol.wire, remote):
replies decode into fresh data within a budget, never rewrite what a check made outside
a call's own copies, and no special attribute but a few plain ones is ever asked for."""

import numpy as np
import pytest

from coursetools.grade.protocol import remote, wire
from nnlib.grading import core
from remotetools import student_process
from test_grading_remote import Counter


def _decode(data, **options):
    return wire.Decoder(lambda d: pytest.fail(f"tag {d}"), **options).decode(
        wire.loads(wire.dumps(data)))


def _nested_memo(levels, width):
    """A list holding ``width`` copies of a list holding ``width`` copies of ... floats:
    a few kilobytes on the wire for width ** levels entries."""
    value = {"t": "list", "i": 0, "v": [0.5] * width}
    for level in range(1, levels):
        value = {"t": "list", "i": level, "v": [value] + [{"t": "memo", "i": level - 1}] * (
            width - 1)}
    return value


def test_a_small_message_cannot_decode_into_a_large_value():
    bomb = _nested_memo(levels=3, width=1000)          # 10 ** 9 entries once expanded
    assert len(wire.dumps(bomb)) < 50_000
    with pytest.raises(wire.WireError, match="decodes to more than"):
        _decode(bomb)
    fine = _decode(_nested_memo(levels=2, width=1000))    # 10 ** 6: well within the budget
    assert len(fine) == 1000 and fine[1] is fine[0] and len(fine[999]) == 1000


def test_an_array_counts_every_element():
    big = np.zeros(wire.MAX_DECODED_ITEMS // 8 + 1)
    value = {"t": "list", "i": 0, "v": [wire.Encoder(None).encode(big)] + [
        {"t": "memo", "i": 1}] * 8}
    value["v"][0]["i"] = 1
    with pytest.raises(wire.WireError, match="decodes to more than"):
        _decode(value)


def test_a_reply_rewrites_a_sent_object_only_when_asked():
    ours = [1.0, 2.0]
    reply = {"t": "was", "k": 0, "i": 0, "v": {"t": "list", "i": 0, "v": [9.0, 9.0]}}
    fresh = _decode(reply, sent=[ours], write_back=False)
    assert fresh == [9.0, 9.0] and fresh is not ours and ours == [1.0, 2.0]
    written = _decode(reply, sent=[ours], write_back=True)
    assert written is ours and ours == [9.0, 9.0]


class PointsAnywhere:
    """Answers numpy's questions with a pointer of its choosing."""
    __array_interface__ = {"shape": (4,), "typestr": "<f8", "data": (8, True), "version": 3}
    __array_priority__ = 1000

    def __array__(self, dtype=None, copy=None):
        return np.arange(3.0)

    __name__ = 42
    __mro__ = [1, 2]


class Rewrites(np.ndarray):
    """An array whose writes also change the value written: a lying params entry."""

    def __setitem__(self, index, value):
        if isinstance(value, np.ndarray):
            value += 100.0
        super().__setitem__(index, value)


class Model:
    def __init__(self):
        self.params = {"W1": np.zeros((2, 2)).view(Rewrites), "b1": np.zeros(2).view(Rewrites)}


def _lying_namespace():

    def shared_rows():
        row = [0.0] * 1000
        grid = [row] * 1000
        return [grid] * 100                # 10 ** 8 entries, a few hundred bytes here

    return {"anywhere": PointsAnywhere(), "model": Model(), "shared_rows": shared_rows,
            "Rewrites": Rewrites}


def test_numpy_in_the_grader_never_reads_a_student_s_special_attributes():
    with student_process(_lying_namespace()) as connection:
        names = remote._CellNames(connection)
        anywhere = names["anywhere"]
        asked = connection.number
        for name in ("__array_interface__", "__array__", "__array_priority__",
                     "__array_struct__", "__dict__", "__class_getitem__", "__wrapped__"):
            with pytest.raises(AttributeError):
                getattr(anywhere, name)
        as_array = np.asarray(anywhere)           # an opaque object to numpy: no pointer read
        assert as_array.dtype == object and as_array.shape == ()
        assert connection.number == asked, "special attributes were asked for"
        with pytest.raises(AttributeError, match="not a str"):
            anywhere.__name__
        with pytest.raises(AttributeError, match="not a tuple"):
            anywhere.__mro__
        assert core.type_name(anywhere) == "PointsAnywhere"


@pytest.mark.parametrize("where", ["here", "in the student's kernel"])
def test_a_write_into_a_student_s_arrays_never_changes_the_check_s_values(where):
    with student_process(_lying_namespace()) as connection:
        names = remote._CellNames(connection) if where != "here" else _lying_namespace()
        model = names["model"]
        params = core.live(model).params
        assert (getattr(type(params), "_nnlib_remote_kind", None) is not None) == (
            where != "here")
        values = {"W1": np.ones((2, 2)), "b1": np.full(2, 2.0)}
        kept = {k: v.copy() for k, v in values.items()}
        assert core.fill_in_place(params, values) is True
        for key in values:
            np.testing.assert_array_equal(values[key], kept[key])
        # the student's arrays got something else: a check reading them back sees it
        assert not np.array_equal(model.params["W1"], kept["W1"])


class Mutates:
    """A container whose writes change the value written, in the kernel."""

    def __setitem__(self, key, value):
        value += 100.0


def test_only_a_call_s_own_copies_come_back_changed():
    with student_process({"box": Mutates(), "Counter": Counter}) as connection:
        names = remote._CellNames(connection)
        ours = np.ones(3)
        names["box"][0] = ours                       # a request other than a call
        np.testing.assert_array_equal(ours, np.ones(3))
        mine = [1]
        assert names["Counter"](2).bump(mine) is mine and mine == [1, 2]   # a call's


def test_a_shared_reply_that_would_expand_past_the_budget_loses_the_kernel():
    with student_process(_lying_namespace()) as connection:
        names = remote._CellNames(connection)
        with pytest.raises(remote.KernelGone, match="not plain data .*decodes to more than"):
            names["shared_rows"]()

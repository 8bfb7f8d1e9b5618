"""The line between a student's process and the grader: plain data only, and proxies that
behave like the student's objects while every decision stays on the grader's side."""
import time

import numpy as np
import pytest

from coursetools.grade.protocol import remote, wire
from nnlib.grading import core
from remotetools import cell_passes, student_process


def _round_trip(value):
    encoder = wire.Encoder(lambda v: pytest.fail(f"not plain: {v!r}"))
    data = wire.loads(wire.dumps(encoder.encode(value)))
    return wire.Decoder(lambda d: pytest.fail(f"tag {d}")).decode(data)


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("inf"), "text", [1, [2.0]], (1, "a"), {"W": np.ones((2, 3))},
    {1, 2}, np.float32(1.5), np.int64(7), np.bool_(True), np.arange(6.0).reshape(2, 3).T,
    np.array(2.0), np.zeros((0, 3)), np.array([1 + 2j]), Ellipsis, slice(1, None, 2),
    np.random.default_rng(4)])
def test_plain_values_cross_unchanged(value):
    back = _round_trip(value)
    assert type(back) is type(value)
    if isinstance(value, np.random.Generator):
        assert back.random() == value.random()
    elif isinstance(value, dict):
        assert back.keys() == value.keys() and np.array_equal(back["W"], value["W"])
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value or (back != back and value != value)


def test_one_object_sent_twice_arrives_as_one():
    shared = [1.0]
    back = _round_trip({"a": shared, "b": shared})
    assert back["a"] is back["b"]


@pytest.mark.parametrize("data", [
    {"t": "nd", "d": "|O", "s": [1], "b": "AAAAAAAAAAA="},     # object dtype: a raw pointer
    {"t": "nd", "d": "<f8", "s": [3], "b": "AAAAAAAAAAA="},    # bytes do not match the shape
    {"t": "pickle", "v": "gASV"},                               # no such tag
    {"t": "rng", "i": 0, "s": {"bit_generator": "os.system"}},
    {"t": "memo", "i": 5},
    [1, 2],
])
def test_anything_else_is_refused(data):
    with pytest.raises(wire.WireError):
        wire.Decoder(lambda d: (_ for _ in ()).throw(wire.WireError("other"))).decode(data)


def test_malformed_json_is_refused():
    with pytest.raises(wire.WireError):
        wire.loads(b"{not json")


class Counter:
    def __init__(self, start):
        self.count = start

    def __add__(self, other):
        return Counter(self.count + (other.count if isinstance(other, Counter) else other))

    def bump(self, values):
        values.append(self.count)      # changes the caller's list in place
        return values


def _namespace():
    def fails(x):
        raise KeyError("W")

    def loops(x):
        while True:
            pass

    def deaf(x):
        while True:
            try:
                time.sleep(0.01)
            except KeyboardInterrupt:
                pass

    def overflows(z):
        return np.exp(z)

    def uses_reference(X, W, b):
        import nnlib
        return nnlib.dense(X, W, b)

    return {"Counter": Counter, "fails": fails, "loops": loops, "deaf": deaf,
            "overflows": overflows, "uses_reference": uses_reference, "number": 4}


def test_proxies_behave_like_the_student_s_objects():
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        assert names["number"] == 4
        Counter = names["Counter"]
        assert core.is_class(Counter) and Counter.__name__ == "Counter"
        c = Counter(2)
        assert core.type_name(c) == "Counter" and isinstance(c, Counter)
        total = c + 3
        assert total.count == 5 and (c + total).count == 7
        mine = [1]
        assert c.bump(mine) is mine and mine == [1, 2]    # the in-place change came back
        with pytest.raises(TypeError):
            3 + c                                        # Counter has no __radd__
        c.count = 10
        assert c.count == 10
        with pytest.raises(KeyError, match="'W'"):
            names["fails"](1)
        with pytest.raises(KeyError):
            names["missing"]


class Guarded(Counter):
    def __setattr__(self, name, value):
        if value == "no":
            raise ValueError("no")
        super().__setattr__(name, value)


@pytest.mark.parametrize("where", ["here", "in the student's kernel"])
def test_attributes_of_many_objects_are_read_and_set_in_one_request(where):
    with student_process({"Counter": Counter, "Guarded": Guarded}) as connection:
        names = remote._CellNames(connection) if where != "here" else {
            "Counter": Counter, "Guarded": Guarded}
        counters = [names["Counter"](i) for i in range(5)] + [names["Guarded"](5)]
        before = connection.number
        assert core.attributes(counters, "count") == [0, 1, 2, 3, 4, 5]
        assert core.set_attributes(counters, "count", [9] * 6)
        assert [c.count for c in counters] == [9] * 6
        if where != "here":
            assert connection.number == before + 2 + 6      # one request each, then 6 reads
        # one that fails: None or False, so the check reads them one by one for its message
        assert core.attributes(counters, "missing") is None
        assert not core.set_attributes(counters, "count", [1] * 5 + ["no"])
        assert core.attributes([], "count") == [] and core.set_attributes([], "count", [])


class Touchy(Counter):
    @property
    def fragile(self):
        raise ValueError("not now")


@pytest.mark.parametrize("where", ["here", "in the student's kernel"])
def test_which_attributes_an_object_has_is_one_request(where):
    with student_process({"Touchy": Touchy}) as connection:
        names = remote._CellNames(connection) if where != "here" else {"Touchy": Touchy}
        touchy = names["Touchy"](1)
        before = connection.number
        assert core.has_attributes(touchy, ["count", "bump", "missing"]) == [True, True, False]
        if where != "here":
            assert connection.number == before + 1
        assert core.has_attributes(touchy, ["fragile"]) is None    # raises, not AttributeError
        assert core.has_attributes(3, []) == []


def test_a_function_kept_in_the_kernel_shows_its_own_parameters():
    def fit(X, y, lr, progress=True):
        return X
    with student_process({"fit": fit, "number": 3}) as connection:
        names = remote._CellNames(connection)
        assert core.parameter_names(names["fit"]) == ["X", "y", "lr", "progress"]
        assert core.parameter_names(fit) == ["X", "y", "lr", "progress"]
        assert core.parameter_names(names["number"]) is None       # not callable


def test_a_kernel_that_answers_a_bulk_read_with_the_wrong_length_gets_none():
    with student_process({"Counter": Counter}) as connection:
        counters = [remote._CellNames(connection)["Counter"](i) for i in range(3)]
        wrong = remote.Connection.request
        try:
            remote.Connection.request = lambda self, op, *a, **k: [1] if op == "getattrs" \
                else wrong(self, op, *a, **k)
            assert core.attributes(counters, "count") is None
        finally:
            remote.Connection.request = wrong


class Quadratic:
    """A model whose loss is sum(w ** 2) * scale, so its differences are known exactly."""

    def __init__(self):
        self.params = {"w": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": np.zeros(2)}

    def loss(self, scale):
        return float(np.sum(self.params["w"] ** 2) * scale)

    def spoils(self, scale):
        scale[...] = 0.0               # changes its argument in place
        return 0.0

    def fails(self, scale):
        raise ValueError("no")

    def cheats(self, scale):
        import nnlib
        return float(nnlib.relu(scale).sum())


@pytest.mark.parametrize("where", ["here", "in the student's kernel"])
def test_differences_of_a_student_s_function_are_one_request_and_leave_its_array_alone(where):
    with student_process({"Quadratic": Quadratic}) as connection:
        names = remote._CellNames(connection) if where != "here" else {"Quadratic": Quadratic}
        model = names["Quadratic"]()
        weights, loss = core.live(model).params["w"], model.loss
        before = connection.number
        rows = core.nudged_calls(loss, "Quadratic.loss", weights, [(0, 1), (1, 0)],
                                 (0.5, -0.5), (np.array(2.0),))
        if where == "here":
            assert rows is None            # in the student's own process: the checks loop
            return
        assert connection.number == before + 1
        # sum w^2 = 14.25; w[0, 1] = -2 +- 0.5 and w[1, 0] = 0.5 +- 0.5, times scale 2
        assert rows == [[2 * (14.25 - 4 + 2.25), 2 * (14.25 - 4 + 6.25)],
                        [2 * (14.25 - 0.25 + 1), 2 * (14.25 - 0.25 + 0)]]
        assert np.array_equal(model.params["w"], [[1.0, -2.0], [0.5, 3.0]])
        for method in ("spoils", "fails", "cheats"):     # the checks then go one by one
            assert core.nudged_calls(getattr(model, method), "Quadratic.loss", weights,
                                     [(0, 0)], (0.5,), (np.array(2.0),)) is None
        assert np.array_equal(model.params["w"], [[1.0, -2.0], [0.5, 3.0]])
        params = core.live(model).params
        before = connection.number
        assert core.fill_in_place(params, {"w": np.ones((2, 2)), "b": [4, 5]})
        assert connection.number == before + 1
        assert np.array_equal(model.params["w"], np.ones((2, 2)))
        assert np.array_equal(model.params["b"], [4.0, 5.0])
        assert not core.fill_in_place(core.live(model).params, {"w": np.ones(3)})


def test_a_call_that_runs_too_long_is_stopped_and_the_connection_recovers():
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        with pytest.raises(core.GradingError, match="did not finish within 1 s"):
            core.call_student(names["loops"], "loops", (1,), seconds=1)
        assert connection.request("name", name="number") == 4
        with pytest.raises(core.GradingError, match="did not finish within 1 s"):
            core.call_student(names["deaf"], "deaf", (1,), seconds=1)
        with pytest.raises(remote.KernelGone, match="ignored the interrupt"):
            connection.request("name", name="number")


def test_a_call_past_the_cell_s_limit_fails_its_check_is_stopped_and_is_not_a_finding():
    """The connection's deadline (the cell's time limit) is a grading result: the check
    fails saying so, the kernel is interrupted so the notebook's later cells still run,
    and nothing goes to the integrity report."""
    with student_process(_namespace(), deadline=1) as connection:
        names = remote._CellNames(connection)
        with pytest.raises(core.GradingError, match=r"ran past the time limit of 1 s \(an "
                                                    r"endless loop, or a very slow one\?\)"):
            core.call_student(names["loops"], "loops", (1,))
        assert connection.notes == []


def test_warnings_and_refusals_reach_the_checks():
    with student_process(_namespace()) as connection:
        names = remote._CellNames(connection)
        with pytest.warns(RuntimeWarning, match="overflow"), np.errstate(over="warn"):
            names["overflows"](np.array([1000.0]))
        with pytest.raises(core.GradingError, match="calls nnlib's dense, the reference"):
            core.call_student(names["uses_reference"], "dense",
                              (np.ones((2, 2)), np.ones((2, 2)), np.ones(2)))


def test_a_test_cell_s_verdict_ignores_what_the_student_patched():
    def dense(X, W, b):
        return X @ W       # the bias is missing
    import nnlib.grading
    namespace = {"dense": dense}
    source = "from nnlib import grading\ngrading.check_dense(dense)"
    with student_process(namespace) as connection:
        # the student's own process has its grader and numpy patched: it does not matter
        connection.request("call", remote._CellNames(connection)["dense"], (np.ones((1, 1)),
                           np.ones((1, 1)), np.ones(1)), {})
        ok, outputs = cell_passes(source, connection)
    assert not ok and outputs[-1]["ename"] == "GradingError"
    assert "dense(" in outputs[-1]["evalue"]
    assert nnlib.grading.check_dense.__module__ == "nnlib.grading.vectors"

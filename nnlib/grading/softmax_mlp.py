"""Check for chapter 9 (09_softmax_mlp): the SoftmaxMLP class, method by method."""
import warnings
from itertools import pairwise

import numpy as np

from nnlib import activations as ref_act
from nnlib import softmax_mlp as ref_mlp
from nnlib.grading.core import (GradingError, Hint, as_student_number, call_student, case_rng,
                                compare, describe, ensure_student_class, fill_in_place, live,
                                nudged_calls, passed, type_name)
from nnlib.grading.softmax import _he_scale

# What the check relies on (the chapter 9 notebook states it):
#   SoftmaxMLP(layer_sizes, reg=0.0, seed=0); model.params is a dict "W1", "b1", ..., "WL", "bL"
#   of the model's own float64 arrays (W{l} (d_{l-1}, d_l), b{l} (d_l,)): writing into them in
#   place changes the model. loss(X, y) -> number; gradients(X, y) -> new dict with the keys of
#   params; predict(X) -> integer labels (n,); fit(X, y, lr, epochs, batch_size) runs mini-batch
#   gradient descent (each epoch visits every row once, one step per batch of batch_size rows)
#   and changes model.params (its return value is not checked).

_MLP = "SoftmaxMLP"
_MISSING = object()


def _mlp_shapes(sizes):
    shapes = {}
    for l, (fan_in, fan_out) in enumerate(pairwise(sizes), start=1):
        shapes[f"W{l}"], shapes[f"b{l}"] = (fan_in, fan_out), (fan_out,)
    return shapes


class _Model:
    """One instance of the student's class, with the text that names it in messages."""

    def __init__(self, cls, sizes, reg, seed=0):
        self.sizes, self.reg = list(sizes), reg
        self.text = f"{_MLP}({self.sizes}, reg={reg:g}, seed={seed})"
        # positional, in the contract's order: a generic stub __init__(self, *args) works too
        self.obj = call_student(cls, _MLP, (list(sizes), reg, seed), call=self.text)

    def describe(self, method, args, names, note=""):
        inner = ", ".join(f"{n}={describe(a)}" for n, a in zip(names, args))
        return f"{self.text}.{method}({inner}){note}"

    def method(self, method):
        fn = getattr(self.obj, method, None)
        if not callable(fn):
            raise GradingError(f"{self.text} has no method {method}. Define it inside the class: "
                               f"def {method}(self, ...).")
        return fn

    def call(self, method, args, names, note=""):
        """Call a method through core.call_student -> (result, description of the call)."""
        call = self.describe(method, args, names, note)
        return call_student(self.method(method), f"{_MLP}.{method}", args, call=call), call

    def params(self, required=True):
        """model.params, checked: a dict of float64 arrays with the right keys and shapes.

        With ``required=False`` a model without a params attribute gives None.
        """
        def read():
            try:
                return self.obj.params
            except AttributeError as error:
                if "params" in str(error):
                    return _MISSING
                raise
        params = call_student(read, f"{_MLP}.params", (), call=f"{self.text}.params")
        if params is _MISSING:
            if not required:
                return None
            raise GradingError(f"{self.text} has no attribute params. Keep the parameters in a "
                               "dict, self.params = {'W1': ..., 'b1': ..., ...}: the checks read "
                               "and write them there.")
        _check_params(params, self.sizes, f"{self.text}.params")
        return params

    def snapshot(self):
        return {key: np.array(value, dtype=np.float64) for key, value in self.params().items()}

    def set(self, values):
        """Write ``values`` into the live arrays of model.params; they must stay there."""
        self.params()                       # checked: a dict of arrays of the right shapes
        params = live(self.obj).params      # the model's own dict, wherever the model runs
        if not fill_in_place(params, values):
            for key, value in values.items():
                params[key][...] = value
        again = self.params()
        for key, value in values.items():
            if not np.array_equal(again[key], value):
                raise GradingError(f"Writing into {self.text}.params['{key}'] in place did not "
                                   "change the model: reading params again gave the old values. "
                                   "params must hold the model's own arrays, not copies.")


def _check_params(params, sizes, where):
    if not isinstance(params, dict):
        raise GradingError(f"{where} is a {type_name(params)}; it should be a dict "
                           "{'W1': W1, 'b1': b1, ...} of numpy arrays.")
    shapes = _mlp_shapes(sizes)
    keys = [str(k) for k in params]
    if set(keys) != set(shapes):
        raise GradingError(_key_problem(where, keys, list(shapes), sizes))
    for key, shape in shapes.items():
        _check_array(params[key], key, shape, f"{where}['{key}']")


def _key_problem(where, keys, wanted, sizes):
    message = (f"{where} has the keys {', '.join(keys) or '(none)'}; for layer_sizes {sizes} it "
               f"should have exactly {', '.join(wanted)} (a W and a b per layer).")
    lower = {k.upper() for k in keys}
    if lower == {k.upper() for k in wanted}:
        message += " Use 'W' and 'b' exactly as written: W1 (capital), b1 (small)."
    elif any(k.startswith(("dW", "db")) for k in keys):
        message += " Name them after the parameters: 'W1', 'b1', ... (no 'd')."
    elif {"W0", "b0"} & set(keys):
        message += " Number the layers from 1: W1 and b1 belong to the first layer."
    elif set(keys) < set(wanted):
        message += (" layer_sizes may list any number of hidden layers: make a W and a b for "
                    "each consecutive pair of sizes.")
    return message


def _check_array(value, key, shape, where):
    if not isinstance(value, np.ndarray):
        raise GradingError(f"{where} is a {type_name(value)}; store a numpy array (the checks "
                           "write into it in place).")
    if value.shape != shape:
        message = f"{where} has shape {value.shape}, expected shape {shape}."
        if key.startswith("W") and value.shape == shape[::-1]:
            message += (" It looks transposed: a weight matrix is (inputs, outputs), one row "
                        "per input, so a layer computes A @ W + b.")
        elif key.startswith("b") and value.size == shape[0]:
            message += f" Keep the biases 1-D: np.zeros({shape[0]}), not a row or a column."
        raise GradingError(message)
    if value.dtype != np.float64:
        raise GradingError(f"{where} has dtype {value.dtype}; the course computes in float64 "
                           "(numpy's default for np.zeros and random draws).")


def _values(rng, sizes, w_scale=1.2, b_scale=0.3):
    """Test parameters: He-like weights (logits of order 1) and non-zero biases."""
    values = {}
    for l, (fan_in, fan_out) in enumerate(pairwise(sizes), start=1):
        values[f"W{l}"] = rng.normal(scale=w_scale / np.sqrt(fan_in), size=(fan_in, fan_out))
        values[f"b{l}"] = rng.normal(scale=b_scale, size=fan_out)
    return values


def _data(rng, n, sizes):
    X = rng.normal(size=(n, sizes[0]))
    y = rng.permutation(np.arange(n) % sizes[-1])     # every class present
    return X, y


def _reference(sizes, reg, values):
    model = ref_mlp.SoftmaxMLP(sizes, reg=reg)
    for key, value in values.items():
        model.params[key][...] = value
    return model


def _scores(values, X, layers, relu=True):
    A = np.asarray(X, dtype=np.float64)
    for l in range(1, layers + 1):
        Z = A @ values[f"W{l}"] + values[f"b{l}"]
        A = np.maximum(Z, 0.0) if relu else Z
    return Z


def _mean_ce(Z, y, axis=1):
    log_p = ref_act.log_softmax(Z, axis=axis)
    return -float(np.mean(log_p[np.arange(len(y)), y]))


def _loss_variants(values, original, X, y, reg):
    """What the loss would be for each known mistake (on the same parameters)."""
    L = len(values) // 2
    weights = [values[f"W{l}"] for l in range(1, L + 1)]
    biases = [values[f"b{l}"] for l in range(1, L + 1)]
    sq_w = sum(float(np.sum(W ** 2)) for W in weights)
    sq_b = sum(float(np.sum(b ** 2)) for b in biases)
    penalty = 0.5 * reg * sq_w
    scores = _scores(values, X, L)
    ce = _mean_ce(scores, y)
    n = len(y)
    return {
        "no_reg": ce,
        "reg_bias": ce + 0.5 * reg * (sq_w + sq_b),
        "no_half": ce + reg * sq_w,
        "sum": n * ce + penalty,
        "sum_all": n * (ce + penalty),
        "no_relu": _mean_ce(_scores(values, X, L, relu=False), y) + penalty,
        "relu_out": _mean_ce(np.maximum(scores, 0.0), y) + penalty,
        "axis0": _mean_ce(scores, y, axis=0) + penalty,
        "sign": -ce + penalty,
        "norm": ce + 0.5 * reg * sum(float(np.linalg.norm(W)) for W in weights),
        "copies": _reference(_sizes_of(original), reg, original).loss(X, y),
    }


def _sizes_of(values):
    L = len(values) // 2
    return [values["W1"].shape[0]] + [values[f"W{l}"].shape[1] for l in range(1, L + 1)]


def _loss_hint(text, variant):
    return Hint(text, lambda e, a: a[0][variant])


_LOSS_HINTS = (
    _loss_hint("your loss ignores the values written into model.params: compute with the arrays "
               "in self.params (don't keep separate copies of W and b)", "copies"),
    _loss_hint("the L2 penalty is missing: add 0.5 * reg * (sum of the squared entries of every "
               "weight matrix)", "no_reg"),
    _loss_hint("you penalise the biases too; the L2 penalty covers the weights W only",
               "reg_bias"),
    _loss_hint("the 0.5 is missing: the penalty is 0.5 * reg * sum(W ** 2) over the weight "
               "matrices", "no_half"),
    _loss_hint("you use the norm of W, not its squared entries: 0.5 * reg * np.sum(W ** 2)",
               "norm"),
    _loss_hint("off by the batch size: you sum the cross-entropy over the examples instead of "
               "averaging it", "sum"),
    _loss_hint("off by the batch size: you sum over the examples instead of averaging",
               "sum_all"),
    _loss_hint("the hidden layers have no ReLU: apply np.maximum(0, Z) after every layer but "
               "the last", "no_relu"),
    _loss_hint("you apply ReLU to the output scores too; the last layer feeds the softmax "
               "directly", "relu_out"),
    _loss_hint("your softmax normalises over the wrong axis (columns); it is row-wise: "
               "axis=1, keepdims=True", "axis0"),
    _loss_hint("the sign of the cross-entropy is flipped: it is minus the mean log-probability "
               "of the true class", "sign"),
)


def _grad_variants(values, X, y, reg):
    """The gradients each known backprop mistake would give (on the same parameters)."""
    L = len(values) // 2
    n = len(y)

    def backprop(mean=True, reg_w=1.0, reg_b=0.0, gate="mask"):
        As, Zs, A = [np.asarray(X, dtype=np.float64)], [], np.asarray(X, dtype=np.float64)
        for l in range(1, L + 1):
            Z = A @ values[f"W{l}"] + values[f"b{l}"]
            A = np.maximum(Z, 0.0)
            Zs.append(Z)
            As.append(A)
        dZ = ref_act.softmax(Zs[-1])
        dZ[np.arange(n), y] -= 1.0
        if mean:
            dZ /= n
        grads = {}
        for l in range(L, 0, -1):
            W = values[f"W{l}"]
            grads[f"W{l}"] = As[l - 1].T @ dZ + reg_w * reg * W
            grads[f"b{l}"] = dZ.sum(axis=0) + reg_b * reg * values[f"b{l}"]
            if l == 1:
                break
            dA = dZ @ W.T
            if gate == "mask":
                dZ = dA * (Zs[l - 2] > 0)
            elif gate == "none":
                dZ = dA
            elif gate == "values":
                dZ = dA * As[l - 1]
            else:                                   # "grad": gated by the gradient's sign
                dZ = np.maximum(dA, 0.0)
        return grads

    right = backprop()
    return {"no_mean": backprop(mean=False), "no_reg": backprop(reg_w=0.0),
            "reg_bias": backprop(reg_b=1.0), "half_reg": backprop(reg_w=0.5),
            "double_reg": backprop(reg_w=2.0), "no_gate": backprop(gate="none"),
            "gate_values": backprop(gate="values"), "gate_grad": backprop(gate="grad"),
            "transposed": {k: v.T for k, v in right.items()},
            "sign": {k: -v for k, v in right.items()}, "right": right}


def _grad_hint(text, variant):
    return Hint(text, lambda e, a: a[1][variant][a[0]])


_GRAD_HINTS = (
    _grad_hint("the sign is flipped: the output layer starts from dZ = (probs - one_hot) / n",
               "sign"),
    _grad_hint("off by the batch size: divide probs - one_hot by n (the loss is a mean), "
               "before the reg * W term is added", "no_mean"),
    _grad_hint("the reg * W term of the L2 penalty is missing from dW", "no_reg"),
    _grad_hint("you add reg * b to the bias gradient; the penalty covers the weights only",
               "reg_bias"),
    _grad_hint("the penalty's term is reg * W (the derivative of 0.5 * reg * W ** 2), not "
               "0.5 * reg * W", "half_reg"),
    _grad_hint("the penalty's term is reg * W (the derivative of 0.5 * reg * W ** 2), not "
               "2 * reg * W", "double_reg"),
    _grad_hint("the ReLU gate is missing: multiply dA by (Z > 0) of that hidden layer before "
               "going further back", "no_gate"),
    _grad_hint("the ReLU gate multiplies by the activations A; it should multiply by the 0/1 "
               "mask (Z > 0) (or A > 0)", "gate_values"),
    _grad_hint("the ReLU gate looks at the sign of the gradient (np.maximum(dA, 0)); it should "
               "look at the forward pass: dA * (Z > 0) with that layer's Z", "gate_grad"),
    _grad_hint("dW looks transposed: dW = A_prev.T @ dZ has the shape of W", "transposed"),
)


def _grad_shape(got, key, expected_shape, n, call):
    """A clear message for a gradient entry of the wrong shape."""
    shape = np.shape(got)
    if shape == expected_shape:
        return
    message = f"{call}['{key}'] has shape {shape}, expected shape {expected_shape}."
    if key.startswith("W") and shape == expected_shape[::-1]:
        message += " It looks transposed: dW = A_prev.T @ dZ has the shape of W."
    elif key.startswith("b"):
        if shape == (n,):
            message += (" Likely bug: you sum over axis 1 (the units); db sums over the "
                        "examples: dZ.sum(axis=0).")
        elif shape in ((1,) + expected_shape, expected_shape + (1,)):
            message += " Drop the extra axis: dZ.sum(axis=0) without keepdims, shaped like b."
        elif shape == (n,) + expected_shape:
            message += " Sum dZ over the examples: db = dZ.sum(axis=0)."
    raise GradingError(message)


def _check_grads(got, model, X, y, call, expected, variants):
    if got is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    if not isinstance(got, dict):
        raise GradingError(f"{call} returned a {type_name(got)}; it should return a dict "
                           "{'W1': dW1, 'b1': db1, ...} with the keys of model.params.")
    shapes = _mlp_shapes(model.sizes)
    keys = [str(k) for k in got]
    if set(keys) != set(shapes):
        raise GradingError(_key_problem(call, keys, list(shapes), model.sizes))
    for key in _backprop_order(shapes):
        _grad_shape(got[key], key, shapes[key], len(y), call)
        compare(f"{_MLP}.gradients", f"{call}['{key}']", got[key], expected[key],
                rtol=1e-6, atol=1e-9, hints=_GRAD_HINTS, args=(key, variants))


def _backprop_order(keys):
    """W2, b2, W1, b1: the output layer first, as backprop goes."""
    layers = len(keys) // 2
    return [f"{p}{l}" for l in range(layers, 0, -1) for p in ("W", "b")]


def _own_differences(model, X, y, key, rng, h=1e-5):
    """Central differences of the student's own loss w.r.t. up to DIFFERENCE_ENTRIES
    entries of params[key] (drawn with ``rng``), NaN elsewhere: a wrong formula shows in
    any few entries, and each entry costs two calls of loss."""
    fn = model.method("loss")
    call = model.describe("loss", (X, y), ("X", "y"), f" with params['{key}'] nudged by ±{h:g}")
    model.params()                         # checked: a dict of arrays of the right shapes
    array = live(model.obj).params[key]    # the model's own array, wherever the model runs
    entries = list(np.ndindex(*array.shape))
    if len(entries) > DIFFERENCE_ENTRIES:
        entries = [entries[i] for i in rng.choice(len(entries), DIFFERENCE_ENTRIES, replace=False)]
    numeric = np.full(array.shape, np.nan)
    rows = nudged_calls(fn, f"{_MLP}.loss", array, entries, (h, -h), (X, y))
    for position, index in enumerate(entries):
        if rows is not None:
            values = [as_student_number(value, call) for value in rows[position]]
        else:
            old = array[index]
            values = []
            for step in (h, -h):
                array[index] = old + step
                values.append(as_student_number(
                    call_student(fn, f"{_MLP}.loss", (X, y), call=call), call))
            array[index] = old
        numeric[index] = (values[0] - values[1]) / (2 * h)
    return numeric


# ---------------------------------------------------------------- SoftmaxMLP: the parts

def _mlp_first_loss(cls, rng):
    """Build a model and ask it for a loss before anything else: the first method written."""
    model = _Model(cls, [4, 6, 3], 0.1)
    model.params(required=False)       # a wrong layout explains a failing loss best
    X, y = _data(rng, 5, model.sizes)
    got, call = model.call("loss", (X, y), ("X", "y"))
    as_student_number(got, call)
    return 1


def _mlp_construction(cls, hidden):
    count = 0
    sizes_list = [[4, 6, 3], [3, 5, 4, 2], [2, 8, 2]]
    if hidden:
        sizes_list += [[5, 3], [2, 7, 6, 5, 4]]
    for sizes in sizes_list:
        model = _Model(cls, sizes, 0.0)
        params = model.params()
        for key, value in params.items():
            where = f"{model.text}.params['{key}']"
            if not np.isfinite(value).all():
                raise GradingError(f"{where} holds nan or inf.")
            if key.startswith("b") and np.any(value != 0):
                raise GradingError(f"{where} is not all zeros. Start the biases at zero: "
                                   f"np.zeros({value.shape[0]}).")
            if key.startswith("W") and value.size > 1 and np.all(value == value.flat[0]):
                raise GradingError(f"{where} has all entries equal. Draw the weights at random "
                                   "(He/Kaiming: rng.standard_normal((fan_in, fan_out)) * "
                                   "np.sqrt(2 / fan_in)); equal weights keep every unit identical.")
        count += 1
    sizes, seed = [4, 6, 3], 3 + (10 if hidden else 0)
    first = _Model(cls, sizes, 0.0, seed=seed)
    again = _Model(cls, sizes, 0.0, seed=seed)
    other = _Model(cls, sizes, 0.0, seed=seed + 1)
    a, b, c = first.snapshot(), again.snapshot(), other.snapshot()
    if any(not np.array_equal(a[k], b[k]) for k in a):
        raise GradingError(f"{first.text} built twice gave different weights. Draw them from a "
                           "generator made from the seed: rng = np.random.default_rng(seed).")
    if all(np.array_equal(a[k], c[k]) for k in a):
        raise GradingError(f"{first.text} and {other.text} gave the same weights. Use the seed "
                           "argument (rng = np.random.default_rng(seed)), not a fixed seed.")
    big = _Model(cls, [150, 100, 80, 3] if not hidden else [120, 160, 90, 4], 0.0,
                 seed=5 + (10 if hidden else 0))
    for key, W in big.params().items():
        if key.startswith("W") and W.size >= 8000:
            _he_scale(np.array(W), W.shape[0], f"{big.text}.params['{key}']", tol=0.04)
    return count + 3


def _mlp_loss_cases(rng, hidden):
    cases = [([4, 6, 3], 0.1, 5), ([3, 5, 4, 2], 0.05, 7), ([4, 6, 3], 0.0, 6)]
    if hidden:
        cases += [([5, 3], 0.2, 4), ([2, 7, 6, 5, 4], 0.01, 9), ([6, 8, 5], 0.3, 3)]
    return [(sizes, reg, *_data(rng, n, sizes), _values(rng, sizes)) for sizes, reg, n in cases]


_NOTE = " with test values written into model.params"


def _mlp_loss(cls, rng, hidden):
    cases = _mlp_loss_cases(rng, hidden)
    for sizes, reg, X, y, values in cases:
        model = _Model(cls, sizes, reg)
        original = model.snapshot()
        model.set(values)
        got, call = model.call("loss", (X, y), ("X", "y"), _NOTE)
        expected = _reference(sizes, reg, values).loss(X, y)
        compare(f"{_MLP}.loss", call, got, expected, rtol=1e-7, atol=1e-10, hints=_LOSS_HINTS,
                args=(_loss_variants(values, original, X, y, reg),))
    _mlp_large_scores(cls, rng)
    return len(cases) + 1


def _mlp_large_scores(cls, rng):
    """Scores of about ±1000: naive np.exp overflows; the loss itself is of order 1."""
    sizes = [4, 6, 3]
    model = _Model(cls, sizes, 0.0)
    X = rng.normal(size=(6, 4))
    y = np.array([0, 1, 1, 0, 1, 0])               # never the class whose score is -1000
    values = _values(rng, sizes)
    values["b2"] = np.array([1000.0, 1000.5, -1000.0])
    model.set(values)
    call = model.describe("loss", (X, y), ("X", "y"), " with output scores of about ±1000")
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        got, _ = model.call("loss", (X, y), ("X", "y"), " with output scores of about ±1000")
    value = as_student_number(got, call)
    text = " ".join(str(w.message) for w in caught)
    if not np.isfinite(value):
        cause = ("log(0): a probability underflowed to 0 (take -log of the true class's "
                 "probability only, clip it, or use log-softmax: shifted - "
                 "log(sum(exp(shifted))))" if "divide" in text and "overflow" not in text else
                 "no max-shift in the softmax: np.exp of a large score overflows. Subtract each "
                 "row's maximum first, Z - Z.max(axis=1, keepdims=True)")
        raise GradingError(f"{call} returned {value}, where a finite number is expected. "
                           f"Likely bug: {cause}.")
    compare(f"{_MLP}.loss", call, got, _reference(sizes, 0.0, values).loss(X, y), rtol=1e-7,
            atol=1e-10, hints=_LOSS_HINTS,
            args=(_loss_variants(values, values, X, y, 0.0),))
    if caught:
        raise GradingError(f"{call} gives the right number but warns '{caught[0].message}'. "
                           "Likely bug: np.exp of a large score overflows, or log of a zero "
                           "probability: subtract each row's maximum before np.exp and take the "
                           "log of the true class's probability only.")


def _mlp_gradients(cls, rng, hidden):
    cases = _mlp_loss_cases(rng, hidden)
    for sizes, reg, X, y, values in cases:
        model = _Model(cls, sizes, reg)
        model.set(values)
        got, call = model.call("gradients", (X, y), ("X", "y"), _NOTE)
        after = model.snapshot()
        for key, value in values.items():
            if not np.array_equal(after[key], value):
                raise GradingError(f"{call} changed model.params['{key}']. Compute the gradients "
                                   "without updating the parameters (updating is fit's job).")
        variants = _grad_variants(values, X, y, reg)
        expected = _reference(sizes, reg, values).gradients(X, y)
        _check_grads(got, model, X, y, call, expected, variants)
        for key in _backprop_order(values):
            numeric = _own_differences(model, X, y, key, rng)
            yours = np.asarray(got[key], dtype=np.float64)     # its shape is checked above
            compare(f"{_MLP}.gradients", f"{call}['{key}'] compared with central finite "
                    "differences of your own loss", got[key],
                    np.where(np.isnan(numeric), yours, numeric), rtol=1e-5, atol=1e-7,
                    hints=_GRAD_HINTS, args=(key, variants))
    return 2 * len(cases)


def _mlp_predict(cls, rng, hidden):
    cases = [([4, 6, 3], 8), ([3, 5, 4, 2], 7)]
    if hidden:
        cases += [([2, 7, 6, 5, 4], 10), ([5, 3], 6)]
    for sizes, n in cases:
        model = _Model(cls, sizes, 0.1)
        values = _values(rng, sizes, w_scale=2.0, b_scale=0.5)
        X = rng.normal(size=(n, sizes[0]))
        model.set(values)
        got, call = model.call("predict", (X,), ("X",), _NOTE)
        scores = _reference(sizes, 0.1, values).scores(X)
        _predict_shape(got, call, n, sizes[-1])
        arr = np.asarray(got)
        if not np.issubdtype(arr.dtype, np.integer):
            raise GradingError(f"{call} returned an array of dtype {arr.dtype}; return integer "
                               "class labels (np.argmax gives them).")
        compare(f"{_MLP}.predict", call, arr, np.argmax(scores, axis=1), rtol=0, atol=0,
                hints=(Hint("you take the argmax of probabilities normalised over the wrong "
                            "axis; the softmax is row-wise",
                            lambda e, a: np.argmax(ref_act.softmax(a[0], axis=0), axis=1)),
                       Hint("you return the least likely class (argmin)",
                            lambda e, a: np.argmin(a[0], axis=1))),
                args=(scores,))
    return len(cases)


def _predict_shape(got, call, n, k):
    if got is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    try:
        arr = np.asarray(got)
    except (TypeError, ValueError):    # e.g. a ragged list
        arr = np.asarray(None)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise GradingError(f"{call} returned a {type_name(got)}; it should return a numpy "
                           "array of class labels.")
    if arr.shape == (n,):
        return
    message = f"{call} returned shape {arr.shape}, expected shape {(n,)}."
    if arr.shape == (n, k):
        sums_to_one = np.allclose(np.asarray(arr, dtype=float).sum(axis=1), 1.0)
        message += (" Likely bug: you return the probabilities" if sums_to_one else
                    " Likely bug: you return the scores") + \
            "; predict gives one label per row: np.argmax(scores, axis=1)."
    elif arr.shape == (k,):
        message += " Likely bug: argmax over axis 0 (one per class); take it over axis=1."
    elif arr.shape == ():
        message += (" Likely bug: np.argmax without axis=1 gives one index into the flattened "
                    "array.")
    elif arr.shape == (n, 1):
        message += " Drop the extra axis: np.argmax(scores, axis=1) without keepdims."
    raise GradingError(message)


def _descend(sizes, reg, values, X, y, lr, steps, sign=1.0, grads="right"):
    """Parameters after ``steps`` full-batch steps of size lr (grads: a _grad_variants key)."""
    current = {k: v.copy() for k, v in values.items()}
    for _ in range(steps):
        g = (_reference(sizes, reg, current).gradients(X, y) if grads == "right"
             else _grad_variants(current, X, y, reg)[grads])
        current = {k: current[k] - sign * lr * g[k] for k in current}
    return current


_FIT_HINTS = (
    Hint("gradient ascent: the update adds lr * gradient; subtract it (W -= lr * dW)",
         lambda e, a: a[1]["ascent"][a[0]]),
    Hint("lr is ignored: the step should be lr * gradient", lambda e, a: a[1]["no_lr"][a[0]]),
    Hint("only one step was taken: run `epochs` epochs", lambda e, a: a[1]["once"][a[0]]),
    Hint("the update leaves out the reg * W term of the gradient",
         lambda e, a: a[1]["no_reg"][a[0]]),
    Hint("the update uses the gradient summed over the batch; it is the mean (divide by the "
         "batch size)", lambda e, a: a[1]["no_mean"][a[0]]),
)


def _mlp_fit_full_batch(cls, rng, hidden):
    """With batch_size >= n, each epoch is exactly one full-batch gradient step."""
    cases = [([4, 6, 3], 0.1, 6, 0.05, 1, 6), ([3, 5, 4, 2], 0.05, 7, 0.1, 2, 10)]
    if hidden:
        cases += [([2, 7, 6, 5, 4], 0.01, 9, 0.2, 3, 9), ([5, 3], 0.2, 4, 0.3, 1, 100)]
    for sizes, reg, n, lr, epochs, batch_size in cases:
        X, y = _data(rng, n, sizes)
        values = _values(rng, sizes)
        model = _Model(cls, sizes, reg)
        model.set(values)
        _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                             ("X", "y", "lr", "epochs", "batch_size"), _NOTE)
        after = model.snapshot()
        if all(np.array_equal(after[k], values[k]) for k in values):
            raise GradingError(f"{call} did not change model.params. Likely bug: the update is "
                               "lost: `W = W - lr * dW` only rebinds a local name; update in "
                               "place (W -= lr * dW) or store the new array in self.params."
                               + (" With batch_size >= the number of rows, an epoch is one "
                                  "step on all rows." if batch_size > n else ""))
        for key in values:
            if np.array_equal(after[key], values[key]):
                raise GradingError(f"{call} changed some parameters but not "
                                   f"model.params['{key}']: update every W and b.")
        variants = {"ascent": _descend(sizes, reg, values, X, y, lr, epochs, sign=-1.0),
                    "no_lr": _descend(sizes, reg, values, X, y, 1.0, epochs),
                    "once": _descend(sizes, reg, values, X, y, lr, 1),
                    "no_reg": _descend(sizes, reg, values, X, y, lr, epochs, grads="no_reg"),
                    "no_mean": _descend(sizes, reg, values, X, y, lr, epochs, grads="no_mean")}
        expected = _descend(sizes, reg, values, X, y, lr, epochs)
        for key in values:
            try:
                compare(f"{_MLP}.fit", f"{call}: model.params['{key}'] afterwards", after[key],
                        expected[key], rtol=1e-7, atol=1e-10, hints=_FIT_HINTS,
                        args=(key, variants))
            except GradingError as error:
                if "Likely bug" in str(error):
                    raise
                raise GradingError(f"{error} With batch_size >= the number of rows, each epoch "
                                   "is exactly one step params - lr * gradients(X, y) on all "
                                   "rows.") from None
    return len(cases)


def _mlp_fit_batches(cls, rng):
    """One epoch of tiny steps moves the parameters by lr * (n / batch_size) * gradient."""
    sizes, reg, n, batch_size, lr = [4, 6, 3], 0.1, 12, 3, 1e-5
    X, y = _data(rng, n, sizes)
    values = _values(rng, sizes)
    model = _Model(cls, sizes, reg)
    model.set(values)
    _, call = model.call("fit", (X, y, lr, 1, batch_size),
                         ("X", "y", "lr", "epochs", "batch_size"), _NOTE)
    after = model.snapshot()
    grads = _reference(sizes, reg, values).gradients(X, y)
    move = np.concatenate([(values[k] - after[k]).ravel() for k in values]) / lr
    g = np.concatenate([grads[k].ravel() for k in values])
    steps = float(move @ g / (g @ g))
    cosine = float(move @ g / (np.linalg.norm(move) * np.linalg.norm(g) + 1e-300))
    wanted = n // batch_size
    if abs(steps - wanted) <= 0.03 * wanted and cosine > 0.999:
        return 1
    message = (f"{call}: {n} rows in batches of {batch_size} make {wanted} steps per epoch, "
               f"each with the mean gradient of its batch, but your parameters moved like "
               f"{steps:.3g} step{'' if f'{steps:.3g}' == '1' else 's'}.")
    if abs(steps - 1.0) <= 0.05:
        message += (" Likely bug: batch_size is ignored (one full-batch step per epoch), or the "
                    "batches' gradients are combined into one step.")
    elif abs(steps - n) <= 0.05 * n:
        message += (" Likely bug: one step per row, or the batch gradient is summed instead of "
                    "averaged.")
    elif cosine <= 0.999:
        message += " Each epoch must visit every row exactly once (shuffling is fine)."
    raise GradingError(message)


def _blobs(rng, centres, per_class):
    centres = np.asarray(centres, dtype=float)
    X = np.concatenate([c + 0.5 * rng.normal(size=(per_class, centres.shape[1]))
                        for c in centres])
    y = np.repeat(np.arange(len(centres)), per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _mlp_fit_trains(cls, rng, hidden):
    """On well-separated blobs the loss falls clearly and the training accuracy is high."""
    if not hidden:
        sizes, centres = [2, 16, 3], [[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]]
    else:
        sizes, centres = [3, 10, 10, 4], [[3, 0, 0], [0, 3, 0], [0, 0, 3], [-2, -2, -2]]
    X, y = _blobs(rng, centres, 20)
    model = _Model(cls, sizes, 1e-3, seed=1)
    loss_call = model.describe("loss", (X, y), ("X", "y"))
    before = as_student_number(model.call("loss", (X, y), ("X", "y"))[0], loss_call)
    lr, epochs, batch_size = 0.5, 25, 10
    _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                         ("X", "y", "lr", "epochs", "batch_size"), " on well-separated blobs")
    after = as_student_number(model.call("loss", (X, y), ("X", "y"))[0], loss_call)
    if not np.isfinite(after) or after > 0.5 * before:
        trend = "rose" if not after <= before else "barely fell"
        raise GradingError(f"{call}: your loss {trend}, from {before:.4g} to {after:.4g}. "
                           + ("Likely bug: gradient ascent (subtract lr * gradient)."
                              if trend == "rose" else
                              "Make each step params -= lr * gradients on the batch."))
    predict_call = model.describe("predict", (X,), ("X",), " after fit")
    labels = model.call("predict", (X,), ("X",), " after fit")[0]
    _predict_shape(labels, predict_call, len(y), sizes[-1])
    accuracy = float(np.mean(np.asarray(labels) == y))
    if accuracy < 0.95:
        raise GradingError(f"{call}: afterwards only {accuracy:.0%} of the training rows are "
                           "predicted right on data that is easy to separate. Check that "
                           "predict uses the trained parameters.")
    return 1


#: the chapter's two runs, as (name, data, layer_sizes, reg, lr, epochs, batch_size, needed, on):
#: nnlib's reference reaches 98.3-99.3% (spiral, training rows) and 96.1-97.5% (digits, test rows)
#: over seeds 0-11, whatever the shuffling
#: entries of each parameter whose gradient is compared with the student's own loss
DIFFERENCE_ENTRIES = 5
CHAPTER_RUNS = [
    ("the spiral", "spiral", [2, 25, 3], 1e-3, 1.0, 2000, 300, 0.97, "training"),
    ("the digits", "digits", [64, 64, 10], 1e-4, 0.5, 20, 32, 0.95, "test"),
]


def _chapter_data(name):
    """(X_fit, y_fit, X_measured, y_measured) of one of the chapter's runs."""
    from nnlib import datasets
    if name == "spiral":
        X, y = datasets.make_spiral()
        return X, y, X, y
    X_train, X_test, y_train, y_test = datasets.load_digits_split()
    return X_train, y_train, X_test, y_test


def _mlp_reaches_the_chapters_accuracy(cls):
    """The student's own class, trained as the chapter trains it, is as accurate as the text says."""
    for what, data, sizes, reg, lr, epochs, batch_size, needed, rows in CHAPTER_RUNS:
        X, y, X_measured, y_measured = _chapter_data(data)
        model = _Model(cls, sizes, reg, seed=0)
        _, call = model.call("fit", (X, y, lr, epochs, batch_size),
                             ("X", "y", "lr", "epochs", "batch_size"), f" on {what}")
        labels = model.call("predict", (X_measured,), ("X",), f" after fit on {what}")[0]
        _predict_shape(labels, model.describe("predict", (X_measured,), ("X",)),
                       len(y_measured), sizes[-1])
        accuracy = float(np.mean(np.asarray(labels) == y_measured))
        if accuracy < needed:
            raise GradingError(f"{call}: the {rows} accuracy is {accuracy:.1%}; the chapter's model "
                               f"reaches at least {needed:.0%} this way. Check fit's update (each "
                               "batch's mean gradient, reg * W included) and the He "
                               "initialisation of the weights.")
    return len(CHAPTER_RUNS)


def check_SoftmaxMLP(SoftmaxMLP, hidden=False):
    """SoftmaxMLP(layer_sizes, reg=0.0, seed=0) with params, loss, gradients, predict and fit.

    The class keeps its parameters in ``model.params``, a dict "W1", "b1", ..., "WL", "bL" of
    its own float64 arrays (W{l} (d_{l-1}, d_l), b{l} (d_l,)): the check writes test values
    into them in place. loss(X, y) is the mean cross-entropy of softmax(scores) plus
    0.5 * reg * sum of squared weights; gradients(X, y) returns a new dict with the same keys;
    predict(X) returns integer labels (n,); fit(X, y, lr, epochs, batch_size) runs mini-batch
    gradient descent, each epoch one step per batch of batch_size rows, covering every row once.
    """
    ensure_student_class(SoftmaxMLP, _MLP)
    rng = case_rng(_MLP, hidden)
    count = _mlp_first_loss(SoftmaxMLP, rng)
    count += _mlp_construction(SoftmaxMLP, hidden)
    count += _mlp_loss(SoftmaxMLP, rng, hidden)
    count += _mlp_gradients(SoftmaxMLP, rng, hidden)
    count += _mlp_predict(SoftmaxMLP, rng, hidden)
    count += _mlp_fit_full_batch(SoftmaxMLP, rng, hidden)
    count += _mlp_fit_batches(SoftmaxMLP, rng)
    count += _mlp_fit_trains(SoftmaxMLP, rng, hidden)
    if hidden:      # the chapter's full runs: at grading time, where the time limit is generous
        count += _mlp_reaches_the_chapters_accuracy(SoftmaxMLP)
    passed(_MLP, count)

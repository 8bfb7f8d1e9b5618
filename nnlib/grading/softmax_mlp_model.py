"""Chapter 9's SoftmaxMLP as the checks see it: one instance of the student's class whose
params they read and write, nnlib's reference on the same numbers, and what the loss and
the gradients would be for each known mistake (the messages' likely bugs)."""
from itertools import pairwise

import numpy as np

from nnlib import activations as ref_act
from nnlib import softmax_mlp as ref_mlp
from nnlib.grading.core import (GradingError, Hint, as_student_number, call_student, compare,
                                describe, fill_in_place, live, nudged_calls, type_name)

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




#: entries of each parameter whose gradient is compared with the student's own loss
DIFFERENCE_ENTRIES = 5
_NOTE = " with test values written into model.params"


def _mlp_loss_cases(rng, hidden):
    cases = [([4, 6, 3], 0.1, 5), ([3, 5, 4, 2], 0.05, 7), ([4, 6, 3], 0.0, 6)]
    if hidden:
        cases += [([5, 3], 0.2, 4), ([2, 7, 6, 5, 4], 0.01, 9), ([6, 8, 5], 0.3, 3)]
    return [(sizes, reg, *_data(rng, n, sizes), _values(rng, sizes)) for sizes, reg, n in cases]


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

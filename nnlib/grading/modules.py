"""Checks for chapter 8 (08_autograd): the ``Neuron``, ``Layer`` and ``MLP`` built on ``Value``.

The network checks cannot compare with a reference network, since the student's
weights are random and theirs to choose. They check self-consistency instead: the
output must be what the activation of ``w . x + b`` gives for the Values listed by
``parameters()``; then the check writes its own numbers into those Values (which
must therefore be the live objects) and compares outputs and gradients with numpy.
"""
import numbers

import numpy as np

from nnlib.grading.core import (GradingError, case_rng, ensure_student_class, grading_as, passed,
                                set_attributes, type_name)
from nnlib.grading.value_reading import (ATOL, RTOL, _attr, _datas, _fmt, _grads, _mismatch,
                                         _node, _nodes, _run, _value_like)


_ACTS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z, h: 1.0 - h ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, h: h * (1.0 - h)),
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
}


class _Net:
    """What a Neuron, Layer or MLP should compute: sizes, activations, output form."""

    def __init__(self, kind, args, sizes, acts, single, variants=()):
        self.kind, self.args, self.sizes, self.acts, self.single = kind, args, sizes, acts, single
        self.variants = [tuple(v) for v in variants]   # other accepted activations per layer
        self.call = f"{kind}({', '.join(map(repr, args))})"

    def following(self, acts):
        """This net with ``acts``, one of its accepted variants, as the right activations."""
        return _Net(self.kind, self.args, self.sizes, list(acts), self.single)

    @property
    def count(self):
        return sum(nout * (nin + 1) for nin, nout in self.sizes)

    @property
    def neurons(self):
        return sum(nout for _, nout in self.sizes)

    def unflatten(self, values, bias_first):
        """Per layer (W (nout, nin), b (nout,)) from the flat parameter values."""
        layers, i = [], 0
        for nin, nout in self.sizes:
            block = np.asarray(values[i:i + nout * (nin + 1)], float).reshape(nout, nin + 1)
            i += nout * (nin + 1)
            layers.append((block[:, 1:], block[:, 0]) if bias_first
                          else (block[:, :-1], block[:, -1]))
        return layers

    def role(self, index, bias_first):
        """'weight 2 of neuron 0 in layer 1' for a position in parameters()."""
        i = index
        for layer, (nin, nout) in enumerate(self.sizes):
            if i < nout * (nin + 1):
                neuron, j = divmod(i, nin + 1)
                if bias_first:
                    j = nin if j == 0 else j - 1
                what = "the bias" if j == nin else f"weight {j}"
                if self.kind == "Neuron":
                    return what
                return (f"{what} of neuron {neuron}"
                        + (f" in layer {layer}" if self.kind == "MLP" else ""))
            i -= nout * (nin + 1)
        return f"entry {index}"


def _forward(layers, acts, x, use_bias=True):
    hs, zs = [np.asarray(x, float)], []
    for (W, b), act in zip(layers, acts):
        z = W @ hs[-1] + (b if use_bias else 0.0)
        zs.append(z)
        with np.errstate(all="ignore"):
            hs.append(_ACTS[act][0](z))
    return hs, zs


def _gradients(layers, acts, x, weights):
    """d (sum_k weights_k * out_k) / d parameter, flattened like parameters() (bias last)."""
    hs, zs = _forward(layers, acts, x)
    g = np.asarray(weights, float)
    out = []
    for (W, b), act, z, h_in, h_out in reversed(list(zip(layers, acts, zs, hs[:-1], hs[1:]))):
        dz = g * _ACTS[act][1](z, h_out)
        out.append(np.concatenate([np.outer(dz, h_in), dz[:, None]], axis=1).ravel())
        g = W.T @ dz
    return np.concatenate(out[::-1])


def _reorder(grads, net, bias_first):
    """Flat gradients from bias-last order to the student's order."""
    if not bias_first:
        return grads
    out, i = [], 0
    for nin, nout in net.sizes:
        block = grads[i:i + nout * (nin + 1)].reshape(nout, nin + 1)
        i += nout * (nin + 1)
        out.append(np.concatenate([block[:, -1:], block[:, :-1]], axis=1).ravel())
    return np.concatenate(out)


def _hypotheses(net, activation):
    """(acts per layer, use_bias) the student's output might follow; the right one first."""
    others = [a for a in ("relu", "tanh", "sigmoid", "linear") if a != activation]
    right = tuple(net.acts)
    found = [(right, True)]
    depth = len(net.sizes)
    for hidden_act in [activation] + others:
        for last in ["linear", activation] + [a for a in others if a != "linear"]:
            acts = (hidden_act,) * (depth - 1) + (last,)
            if (acts, True) not in found:
                found.append((acts, True))
    found.append((right, False))
    return found


def _explain(net, activation, acts, use_bias):
    """The likely bug when the output follows ``acts`` / ``use_bias`` instead of the right ones."""
    if not use_bias:
        return ("the bias is not added: the output is the activation of w·x without + b (the "
                "bias must take part in the sum)")
    if net.kind != "MLP":
        found = acts[0]
        if found == "linear":
            return (f"no nonlinearity: the output is w·x + b itself; apply {activation} to it "
                    f"(e.g. return act.{activation}())")
        who = "Neuron(nin)" if net.kind == "Neuron" else "the neurons of Layer(nin, nout)"
        return (f"the output is {found}(w·x + b) but this exercise asks for {activation}: "
                f"{who} must use {activation} by default (yours use {found})")
    hidden, last = acts[:-1], acts[-1]
    hidden_act = hidden[0] if hidden else activation
    if hidden_act == "linear" and last == "linear":
        return f"no nonlinearity at all: the hidden layers must apply {activation}"
    if hidden_act == "linear" and last == activation:
        return (f"the nonlinearity is on the wrong layers: the hidden layers apply {activation} "
                "and the last one is linear, yours does the opposite")
    if last == "linear":
        return (f"the hidden layers apply {hidden_act} but this exercise asks for {activation} "
                "(the last layer stays linear)")
    return (f"your layers apply {', '.join(acts)}; the hidden layers should apply {activation} "
            f"and the last layer nothing (or {activation} too)")


def _make(cls, net):
    return _run(lambda: cls(*net.args), net.kind, net.call)


def _parameters(model, net):
    call = f"{net.call}.parameters()"
    method = _attr(model, "parameters", net.call,
                   f"give {net.kind} a method parameters() that returns the list of its Values "
                   "(weights and biases).")
    got = _run(method, f"{net.kind}.parameters", call)
    if got is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    try:
        params = _run(lambda: list(got), f"{net.kind}.parameters", call)
    except GradingError:
        raise GradingError(f"{call} returned a {type_name(got)}; it should return a list of "
                           "the Values to train.") from None
    nested = [p for p in params if isinstance(p, (list, tuple))]
    if nested:
        raise GradingError(f"{call} returned a list that holds {type_name(nested[0])}s (one "
                           "per neuron or layer); it should be ONE flat list of Values, e.g. "
                           "[p for n in self.neurons for p in n.parameters()].")
    numbers_ = [p for p in params if isinstance(p, (numbers.Real, np.number))]
    if numbers_:
        raise GradingError(f"{call} returned numbers, not Values: return the Value objects "
                           "themselves (e.g. self.w + [self.b]), so that training can read "
                           "their grad and change their data.")
    for i, p in enumerate([] if _value_like(params) else params):   # one by one for the message
        if not (hasattr(p, "data") and hasattr(p, "grad")):
            raise GradingError(f"{call}[{i}] is a {type_name(p)}; every entry should be a "
                               "Value (with .data and .grad).")
    if len(params) != net.count:
        missing_bias = len(params) == net.count - net.neurons
        nin = net.sizes[0][0]
        parts = {"Neuron": f"{nin} weights and 1 bias",
                 "Layer": f"{net.neurons} neurons with {nin} weights and 1 bias each",
                 "MLP": "a weight per input and a bias for every neuron of every layer"}
        raise GradingError(
            f"{call} returned {len(params)} Values; {net.call} has {net.count} parameters "
            f"({parts[net.kind]})."
            + ((" Likely bug: the bias is missing from parameters() (return "
                "self.w + [self.b])." if net.kind == "Neuron" else
                " Likely bug: the biases are missing from parameters() (a neuron returns "
                "self.w + [self.b]).") if missing_bias else ""))
    if len({id(p) for p in params}) != len(params):
        raise GradingError(
            f"{call} lists the same Value more than once. Likely bug: "
            + ("the weights are ONE Value repeated ([Value(...)] * nin makes nin references "
               "to one object); build each with a list comprehension."
               if net.kind == "Neuron" else
               "the neurons (or layers) are one and the same object ([Neuron(nin)] * nout "
               "makes nout references to ONE neuron); build each with a list comprehension."))
    return params


def _outputs(model, net, x, x_text):
    """Call the model on ``x``; the list of output Values (one for a single output)."""
    call = f"{net.call}({x_text})"
    out = _run(lambda: model(x), f"{net.kind}.__call__", call)
    if out is None:
        raise GradingError(f"{call} returned None. Did you forget the `return` statement?")
    nout = net.sizes[-1][1]
    if isinstance(out, np.ndarray) and out.dtype == object and out.ndim == 1:
        out = list(out)               # a numpy array of Values is a list of outputs too
    if isinstance(out, (list, tuple)):
        if net.single and len(out) == 1 or net.kind == "Neuron":
            raise GradingError(
                f"{call} returned a {type_name(out)} of {len(out)}; "
                + ("a neuron returns one Value." if net.kind == "Neuron" else
                   "with a single output neuron it should return that Value itself "
                   "(out[0] if len(out) == 1 else out), so that the output is a Value you "
                   "can call backward() on."))
        if len(out) != nout and net.kind == "MLP":
            sizes = [n for _, n in net.sizes[:-1]]
            raise GradingError(
                f"{call} returned a {type_name(out)} of {len(out)} Values; its last layer "
                f"has {nout} neuron{'s' if nout > 1 else ''}, so it should return "
                + ("one Value." if nout == 1 else f"{nout} Values.")
                + (" Likely bug: the last layer is missing: make one Layer per entry of nouts "
                   "(for i in range(len(nouts)))." if len(out) in sizes else ""))
        if len(out) != nout:
            raise GradingError(f"{call} returned a {type_name(out)} of {len(out)} Values; "
                               f"it should return {nout}, one per output neuron.")
        return _nodes(out, [f"{call}[{i}]" for i in range(len(out))]), call
    if not net.single:
        _node(out, call)
        raise GradingError(f"{call} returned a single {type_name(out)}; it should return a "
                           f"list of {nout} Values, one per neuron.")
    return [_node(out, call)], call


def _output_data(outs, call):
    return np.array(_datas(outs, [call if len(outs) == 1 else f"{call}[{i}]"
                                  for i in range(len(outs))]))


def _names(params, net):
    return [f"{net.call}.parameters()[{i}]" for i in range(len(params))]


def _values(params, net):
    return np.array(_datas(params, _names(params, net)))


def _set_grads(params, value):
    """p.grad = value for every parameter (one request in course grade)."""
    if not set_attributes(params, "grad", [value] * len(params)):
        for p in params:        # one of them fails: as it fails
            p.grad = value


def _set_values(params, values, net):
    if set_attributes(params, "data", [float(v) for v in values]):
        return
    for i, (p, v) in enumerate(zip(params, values)):    # one failed: which, for the message
        try:
            p.data = float(v)
        except Exception as exc:  # noqa: BLE001  whatever the student's Value does
            raise GradingError(f"could not set {net.call}.parameters()[{i}].data "
                               f"({type_name(exc)}); a Value's data must be a plain, "
                               "writable attribute.") from None


def _matches(got_rows, net, values, inputs, acts, use_bias, bias_first):
    layers = net.unflatten(values, bias_first)
    for got, x in zip(got_rows, inputs):
        want = _forward(layers, acts, x, use_bias)[0][-1]
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
            return False
    return True


def _layout(got_rows, net, values, inputs, activation):
    """(bias_first, acts, use_bias) of the first hypothesis the outputs follow, else None."""
    for acts, use_bias in _hypotheses(net, activation):
        for bias_first in (False, True):
            if _matches(got_rows, net, values, inputs, acts, use_bias, bias_first):
                return bias_first, acts, use_bias
    return None


def _forward_failure(net, activation, got_rows, calls, values, inputs, found, extra=""):
    """The output does not follow from parameters(): name the first input where it is off."""
    first = next((i for i, (got, x) in enumerate(zip(got_rows, inputs))
                  if not any(_matches([got], net, values, [x], tuple(net.acts), True, bias_first)
                             for bias_first in (False, True))), 0)
    got, call = got_rows[first], calls[first]
    shown = f"{got[0]:.6g}" if got.size == 1 else "[" + ", ".join(f"{g:.4g}" for g in got) + "]"
    message = (f"{net.kind}: {call} returned {shown}, which does not follow from the "
               f"Values in {net.call}.parameters()")
    if found is not None:
        _, acts, use_bias = found
        message += f". Likely bug: {_explain(net, activation, acts, use_bias)}."
    else:
        message += (f" ({_describe_rule(net, activation)}, with each neuron's parameters listed "
                    f"as its weights then its bias).{extra}")
    raise GradingError(message)


def _describe_rule(net, activation):
    if net.kind == "MLP":
        return (f"{activation}(W x + b) in the hidden layers, W x + b (or {activation} of it) in "
                "the last one")
    return f"{activation}(w·x + b) for every neuron"


def _show(x):
    return "[" + ", ".join(_fmt(v) for v in x) + "]"


def _check_net(cls, net, activation, rng, hidden):
    """One configuration of a Neuron, Layer or MLP; returns the number of checks made."""
    model = _make(cls, net)
    nin = net.sizes[0][0]
    x0 = [round(float(v), 2) + 0.0 for v in rng.normal(size=nin)]     # + 0.0: no -0.0
    # 1. the student's own initialisation: the output follows from parameters()
    outs, call0 = _outputs(model, net, x0, _show(x0))
    got0 = _output_data(outs, call0)
    params = _parameters(model, net)
    init = _values(params, net)
    at_init = _layout([got0], net, init, [x0], activation)
    if at_init is None:
        _forward_failure(net, activation, [got0], [call0], init, [x0], None)
    # another activation may fit by chance (relu(z) = z for z > 0): step 2 tells them apart

    # 2. our own numbers written into the parameters: they must be the live objects.
    # Lists and numpy arrays, each input also negated (so w·x + b changes sign for many
    # units); the numbers are drawn so that every other activation, or a missing bias,
    # would give other outputs.
    x1 = np.round(rng.normal(scale=1.5, size=nin), 2) + 0.0
    x2 = np.round(rng.normal(scale=1.5, size=nin), 2) + 0.0
    inputs = [x0, x1, [-v + 0.0 for v in x0], -x1 + 0.0, x2.tolist(), -x2 + 0.0]
    if hidden:
        inputs += [(np.round(rng.normal(scale=2.0, size=nin), 2) + 0.0).tolist(), [1] * nin]
    values = _our_values(net, activation, inputs, rng)
    _set_values(params, values, net)
    rows, calls, texts = [], [], []
    for x in inputs:
        text = _show(x) if isinstance(x, list) else f"np.array({_show(x)})"
        texts.append(text)
        outs, call = _outputs(model, net, x, text)
        rows.append(_output_data(outs, call))
        calls.append(call)
    found = _layout(rows, net, values, inputs, activation)
    if found is not None and found[2] and found[1] in net.variants:
        net = net.following(found[1])     # e.g. the lecture's MLP, tanh on its last layer too
    if found is None or found[1:] != (tuple(net.acts), True):
        if at_init[1:] != (tuple(net.acts), True) and found is None:
            _forward_failure(net, activation, [got0], [call0], init, [x0], at_init)
        _explain_copies(model, net, activation, params, init, rows, calls, texts, values,
                        inputs, found)
    if not any(_matches([got0], net, init, [x0], tuple(net.acts), True, bias_first)
               for bias_first in (False, True)):
        _forward_failure(net, activation, [got0], [call0], init, [x0], at_init)
    bias_first = found[0]

    # 3. gradients of every parameter after backward()
    weights = np.round(rng.uniform(0.5, 1.5, size=net.sizes[-1][1]), 2)
    layers = net.unflatten(values, bias_first)
    for x, call, text in zip(inputs, calls, texts):
        _set_grads(params, 0.0)
        outs, _ = _outputs(model, net, x, text)
        if len(outs) == 1:
            root, root_text, w = outs[0], f"out = {call}", [1.0]
        else:
            def weighted_sum(outs=outs):
                total = outs[0] * float(weights[0])
                for o, c in zip(outs[1:], weights[1:]):
                    total = total + o * float(c)
                return total
            root_text = (f"out = the sum of c[k] * {call}[k] with c = {_show(weights)}")
            root = _node(_run(weighted_sum, "Value", root_text), root_text)
            w = weights
        _run(root.backward, "Value.backward", f"({root_text}).backward()")
        grads = np.array(_grads(params, _names(params, net)))
        right = _reorder(_gradients(layers, net.acts, x, w), net, bias_first)
        _check_net_grads(net, grads, right, root_text, bias_first)

    zero_grad = getattr(model, "zero_grad", None)
    if callable(zero_grad):                # optional (a Module base class gives it)
        _set_grads(params, 1.0)
        _run(zero_grad, f"{net.kind}.zero_grad", f"{net.call}.zero_grad()")
        left = [i for i, g in enumerate(_grads(params, _names(params, net))) if g]
        if left:
            raise GradingError(f"{net.kind}: after {net.call}.zero_grad() parameters()"
                               f"[{left[0]}].grad is not 0. zero_grad() must set p.grad = 0.0 "
                               "for every p in self.parameters().")
    return 3 + len(inputs)


def _ambiguity(net, activation, values, inputs):
    """How badly these parameter values tell the hypotheses apart (0: all of them; None:
    not even the right one from every other, or a pre-activation next to relu's kink).

    Checked in both layouts (bias last or first); the count is of pairs of wrong
    hypotheses that give the same outputs (the diagnosis then names the first one), plus
    the parameters whose gradient is 0 for every input (a relu unit that never fires),
    which the gradient check could not see.
    """
    X = np.array([np.asarray(x, float) for x in inputs])          # (inputs, nin)
    hypotheses = _hypotheses(net, activation)
    count = 0
    for bias_first in (False, True):
        layers = net.unflatten(values, bias_first)
        outputs = []
        for k, (acts, use_bias) in enumerate(hypotheses):
            H, hs, zs = X, [X], []
            for (W, b), act in zip(layers, acts):
                Z = H @ W.T + (b if use_bias else 0.0)
                with np.errstate(all="ignore"):
                    H = _ACTS[act][0](Z)
                zs.append(Z)
                hs.append(H)
            outputs.append(H.ravel())
            if k == 0:                       # the right hypothesis
                if min(np.min(np.abs(Z)) for Z in zs) < 1e-4:
                    return None
                G = np.ones_like(H)          # d sum(outputs) / d H, then down the layers
                for (W, _), act, Z, h_in, h_out in reversed(list(zip(layers, acts, zs, hs[:-1],
                                                                     hs[1:]))):
                    D = G * _ACTS[act][1](Z, h_out)
                    live = np.abs(D) > 1e-9
                    count += int(np.sum(~((live.T.astype(float) @ (np.abs(h_in) > 0)) > 0)))
                    count += int(np.sum(~live.any(axis=0)))
                    G = D @ W
        O = np.array(outputs)
        with np.errstate(all="ignore"):
            same = (np.abs(O[:, None, :] - O[None, :, :])
                    <= 1e-6 + 1e-4 * np.abs(O[None, :, :])).all(axis=2)
        same = np.triu(same, k=1)
        if same[0].any():
            return None
        count += int(same.sum())
    return count


def _our_values(net, activation, inputs, rng):
    """Parameter values that tell the hypotheses apart as well as a few draws can."""
    best, best_count = None, None
    for _ in range(30):
        values = np.round(rng.uniform(-1.0, 1.0, size=net.count), 3)
        count = _ambiguity(net, activation, values, inputs)
        if count is not None and (best_count is None or count < best_count):
            best, best_count = values, count
            if count == 0:
                break
    return values if best is None else best


def _matters(net, values, inputs, i):
    """Whether moving parameter i by 0.5 changes the right outputs (in both layouts)."""
    moved = values.copy()
    moved[i] += 0.5
    for bias_first in (False, True):
        before, after = (net.unflatten(v, bias_first) for v in (values, moved))
        if all(np.allclose(_forward(before, net.acts, x)[0][-1],
                           _forward(after, net.acts, x)[0][-1], rtol=1e-9, atol=1e-12)
               for x in inputs):
            return False
    return True


def _explain_copies(model, net, activation, params, init, rows, calls, texts, values, inputs,
                    found):
    """Our numbers did not show in the output: copies in parameters(), or a wrong forward."""
    if found is not None:
        _forward_failure(net, activation, rows, calls, values, inputs, found)
    # move one parameter at a time: a live one changes the output (our values make every
    # parameter matter for some input), a copy does not
    dead, tried = [], 0
    for i, p in enumerate(params):
        if not _matters(net, values, inputs, i):
            continue          # a dead relu unit: this parameter cannot show
        tried += 1
        moved = values.copy()
        moved[i] += 0.5
        p.data = float(moved[i])
        try:
            after = [_output_data(_outputs(model, net, x, t)[0], c)
                     for x, t, c in zip(inputs, texts, calls)]
        finally:
            p.data = float(values[i])
        if all(np.allclose(a, r, rtol=1e-12, atol=0.0) for a, r in zip(after, rows)):
            dead.append(i)
    if dead and len(dead) == tried:
        raise GradingError(
            f"{net.kind}: changing p.data for every p in {net.call}.parameters() did not change "
            f"the output of {calls[0]}. Likely bug: parameters() returns copies (new Values) "
            "instead of the neuron's own weight and bias objects, so training would change "
            "nothing; return the objects themselves (self.w + [self.b]).")
    if dead:
        i = dead[0]
        roles = {net.role(i, False), net.role(i, True)}
        if len(roles) > 1:       # which layout: the one where keeping the copy's number fits
            kept = values.copy()
            kept[i] = init[i]     # what the copy was made from
            roles = {net.role(i, bias_first) for bias_first in (False, True)
                     if _matches(rows, net, kept, inputs, tuple(net.acts), True, bias_first)}
        role = roles.pop() if len(roles) == 1 else f"entry {i}"
        raise GradingError(
            f"{net.kind}: changing {net.call}.parameters()[{i}].data ({role}) did not change the "
            f"output of {calls[0]}. Likely bug: parameters() returns a copy of that Value "
            "(e.g. Value(self.b.data)) instead of the object the forward pass uses.")
    _forward_failure(net, activation, rows, calls, values, inputs, None,
                     extra=" Check that parameters() lists the very Values your forward pass "
                           "uses.")


def _check_net_grads(net, grads, right, root_text, bias_first):
    where = f"after {root_text} and out.backward()"
    if not np.any(grads) and np.any(np.abs(right) > ATOL):
        raise GradingError(
            f"{net.kind}: no parameter got a gradient {where} (every p.grad is 0). Likely bug: "
            "the output is not connected to the parameters: the forward pass computes with "
            ".data (plain floats) and wraps the result in a new Value, which cuts the graph; "
            "build it with Value operations (wi * xi, +, relu()).")
    for i, (got, want) in enumerate(zip(grads, right)):
        role = net.role(i, bias_first)
        bias = role.startswith("the bias")
        _mismatch(net.kind, f"the grad of parameters()[{i}] ({role})", where, float(got),
                  float(want),
                  [("the bias gets no gradient: it is not part of the graph that makes the "
                    "output (add self.b itself, not self.b.data)" if bias else
                    "this weight gets no gradient: it is not part of the graph that makes the "
                    "output (use the Value wi, not wi.data)", 0.0)],
                  fallback="The forward pass is right, so the gradient comes from your "
                           "Value's backward: make sure check_Value passes")


def _check_nets(cls, name, nets, activation, hidden):
    ensure_student_class(cls, name)
    if activation not in ("relu", "tanh", "sigmoid"):
        raise ValueError(f"activation must be 'relu', 'tanh' or 'sigmoid', got {activation!r}")
    rng = case_rng(name, hidden)
    count = 0
    with grading_as(name):      # the student's net may be built on nnlib's Value (BUILDS_ON)
        for net in nets:
            count += _check_net(cls, net, activation, rng, hidden)
    passed(name, count)


def check_Neuron(Neuron, hidden=False, activation="relu"):
    """The student's ``Neuron(nin)``: activation(w·x + b) on their Value, parameters(), grads."""
    sizes = [3, 5] + ([1, 8] if hidden else [])
    nets = [_Net("Neuron", (n,), [(n, 1)], [activation], True) for n in sizes]
    _check_nets(Neuron, "Neuron", nets, activation, hidden)


def check_Layer(Layer, hidden=False, activation="relu"):
    """The student's ``Layer(nin, nout)``: nout neurons (a single Value when nout == 1)."""
    sizes = [(3, 4), (2, 1)] + ([(1, 3), (5, 2)] if hidden else [])
    nets = [_Net("Layer", (nin, nout), [(nin, nout)], [activation], nout == 1)
            for nin, nout in sizes]
    _check_nets(Layer, "Layer", nets, activation, hidden)


def check_MLP(MLP, hidden=False, activation="relu"):
    """The student's ``MLP(nin, nouts)``: hidden layers apply ``activation``; the last layer is
    linear or, as in the lecture, applies ``activation`` too."""
    shapes = [(3, [4, 4, 1]), (2, [3, 2])]
    if hidden:
        shapes += [(1, [5, 1]), (4, [2]), (2, [3, 3, 3, 1])]
    nets = []
    for nin, nouts in shapes:
        sizes = list(zip([nin] + nouts[:-1], nouts))
        acts = [activation] * (len(nouts) - 1) + ["linear"]
        nets.append(_Net("MLP", (nin, nouts), sizes, acts, nouts[-1] == 1,
                         variants=[[activation] * len(nouts)]))
    _check_nets(MLP, "MLP", nets, activation, hidden)

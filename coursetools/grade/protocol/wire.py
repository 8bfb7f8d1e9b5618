"""Plain data across the line between a student's kernel and the grader.

A message is JSON text. Values are numbers, strings, None and tagged objects:
lists, tuples, dicts, sets, numeric numpy arrays and scalars, random generators
(their state), and references to objects that stay on the side that made them.
Decoding builds only those types: it never imports, unpickles or runs anything.

Mutable values (lists, dicts, arrays, generators) get a number in the message,
so one object sent twice arrives as one object, and a reply can say "this is the
object you sent as number k, and here is what it holds now" (tag ``was``): a
receiver that asked for it (``write_back``: the arguments of a call, the copies a
check made for it) updates its own object in place, as if the callee had changed
it; any other receiver gets a fresh value and its own objects stay as they were.

A message's decoded size is counted as it is built, with a value that appears
twice (tag ``memo``) counted twice, as a check that expands it would: past
MAX_DECODED_ITEMS the message is refused, so a small message cannot become a
large value.
"""
import base64
import json
import re

import numpy as np

MAX_MESSAGE_BYTES = 512 * 2 ** 20
#: entries (numbers, strings, array elements, containers) one decoded message may hold
MAX_DECODED_ITEMS = 64 * 2 ** 20
_DTYPE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f[248]|c(8|16))$")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class WireError(ValueError):
    """A message that is not plain data of the expected form."""


def dumps(obj):
    return json.dumps(obj, allow_nan=True, separators=(",", ":")).encode("utf-8")


def loads(data):
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {len(data)} bytes is larger than the limit")
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not a JSON message ({type(exc).__name__})") from None


class Encoder:
    """Turns values into tagged JSON data; ``other(obj)`` handles everything not plain.

    ``sent`` maps id(object) -> its number in an earlier message (the request a reply
    answers), so that objects the other side sent come back tagged ``was``.
    """

    def __init__(self, other, sent=None, by_reference=False):
        self.other, self.sent, self.by_reference = other, sent or {}, by_reference
        self.numbers = {}      # id -> number in this message
        self.keep = []         # objects numbered here stay alive while encoding

    def encode(self, value):
        if value is None or isinstance(value, (bool, str)):
            return value
        if type(value) is int or type(value) is float:
            return value
        if value is Ellipsis:
            return {"t": "..."}
        if isinstance(value, slice):
            return {"t": "slice", "v": [self.encode(v) for v in (value.start, value.stop,
                                                                 value.step)]}
        if self.by_reference and isinstance(value, (np.ndarray, list, dict, set)):
            return self.other(value)
        if isinstance(value, (np.generic, np.ndarray, list, dict, tuple, set, frozenset,
                              np.random.Generator)):
            return self._tagged(value)
        if isinstance(value, (int, float)):      # bool and int subclasses: plain numbers
            return {"t": "int", "v": int(value)} if isinstance(value, int) else float(value)
        return self.other(value)

    def _tagged(self, value):
        if isinstance(value, np.generic):
            if value.dtype.kind in "biufc":
                return {"t": "np", "d": value.dtype.str, "b": _b64(value.tobytes())}
            return self.other(value)
        if isinstance(value, (tuple, set, frozenset)):
            tag = "tuple" if isinstance(value, tuple) else "set"
            return {"t": tag, "v": [self.encode(v) for v in value]}
        key = id(value)
        if key in self.numbers:
            return {"t": "memo", "i": self.numbers[key]}
        self.numbers[key] = number = len(self.numbers)
        self.keep.append(value)
        body = self._contents(value)
        body["i"] = number
        if key in self.sent:
            body = {"t": "was", "k": self.sent[key], "i": number, "v": body}
        return body

    def _contents(self, value):
        if isinstance(value, list):
            return {"t": "list", "v": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {"t": "dict", "k": [self.encode(k) for k in value],
                    "v": [self.encode(v) for v in value.values()]}
        if isinstance(value, np.random.Generator):
            return {"t": "rng", "s": self.encode(value.bit_generator.state)}
        if value.dtype.kind in "biufc":
            data = value if value.flags.c_contiguous else value.copy(order="C")
            return {"t": "nd", "d": data.dtype.str, "s": list(data.shape),
                    "b": _b64(data.tobytes())}
        return {"t": "ndo", "s": list(value.shape),
                "v": [self.encode(v) for v in value.ravel(order="C").tolist()]}


class Decoder:
    """Builds values from tagged JSON data; ``other(tagged)`` handles the side-specific tags.

    ``sent`` is the list of objects this side numbered in the request being answered,
    for the replies' ``was`` tags; they are updated in place only with ``write_back``.
    ``numbered`` fills with this message's numbered objects.
    """

    def __init__(self, other, sent=None, write_back=True):
        self.other, self.sent, self.numbered = other, sent or [], {}
        self.write_back = write_back
        self.items = 0           # entries decoded so far, a value sent twice counted twice
        self.sizes = {}          # number -> entries of that numbered value

    def _count(self, n):
        self.items += n
        if self.items > MAX_DECODED_ITEMS:
            raise WireError(f"a message that decodes to more than {MAX_DECODED_ITEMS:,} entries")

    def decode(self, data, depth=0):
        if depth > 200:
            raise WireError("values nested more than 200 deep")
        self._count(1)
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            raise WireError("an untagged list")
        if not isinstance(data, dict) or not isinstance(data.get("t"), str):
            raise WireError("a value without a tag")
        tag = data["t"]
        if tag == "int":
            return _int(data.get("v"))
        if tag == "np":
            return _array(data, shape=[])[()]
        if tag == "...":
            return Ellipsis
        if tag == "slice":
            parts = [self.decode(v, depth + 1) for v in _list(data.get("v"))]
            if len(parts) != 3:
                raise WireError("a slice without start, stop and step")
            return slice(*parts)
        if tag in ("tuple", "set"):
            items = [self.decode(v, depth + 1) for v in _list(data.get("v"))]
            if tag == "tuple":
                return tuple(items)
            try:
                return set(items)
            except TypeError:
                raise WireError("a set of unhashable values") from None
        if tag == "memo":
            number = data.get("i")
            if not isinstance(number, int) or number not in self.numbered:
                raise WireError("a reference to a value not sent before")
            self._count(self.sizes.get(number, 1))
            return self.numbered[number]
        if tag in ("was", "list", "dict", "rng", "nd", "ndo"):
            before = self.items
            value = (self._was(data, depth) if tag == "was" and self.write_back else
                     self._fresh(data.get("v") if tag == "was" else data, depth))
            if isinstance(data.get("i"), int):
                self.sizes[data["i"]] = self.items - before
            return value
        return self.other(data)

    def _number(self, data, value):
        number = data.get("i")
        if not isinstance(number, int) or number in self.numbered:
            raise WireError("a numbered value without a new number")
        self.numbered[number] = value

    def _fresh(self, data, depth):
        tag = data.get("t") if isinstance(data, dict) else None
        if tag not in ("list", "dict", "rng", "nd", "ndo"):
            raise WireError("a numbered value of an unknown kind")
        if tag == "list":
            value = []
            self._number(data, value)
            value.extend(self.decode(v, depth + 1) for v in _list(data.get("v")))
        elif tag == "dict":
            value = {}
            self._number(data, value)
            self._fill_dict(value, data, depth)
        elif tag == "rng":
            value = _generator(self.decode(data.get("s"), depth + 1))
            self._number(data, value)
        else:
            value = self._array_value(data, depth)
            self._number(data, value)
        return value

    def _array_value(self, data, depth):
        if data["t"] == "nd":
            value = _array(data, shape=data.get("s")).copy()
            self._count(value.size)
            return value
        shape = _shape(data.get("s"))
        items = _list(data.get("v"))
        if len(items) != int(np.prod(shape, dtype=np.int64)):
            raise WireError("an object array whose size does not match its shape")
        value = np.empty(shape, dtype=object)
        flat = value.reshape(-1)
        for i, item in enumerate(items):
            flat[i] = self.decode(item, depth + 1)
        return value

    def _fill_dict(self, target, data, depth):
        keys = [self.decode(k, depth + 1) for k in _list(data.get("k"))]
        values = [self.decode(v, depth + 1) for v in _list(data.get("v"))]
        if len(keys) != len(values):
            raise WireError("a dict with more keys than values")
        try:
            target.update(zip(keys, values))
        except TypeError:
            raise WireError("a dict with an unhashable key") from None

    def _was(self, data, depth):
        """The object we sent as number k, updated in place to what the other side holds now."""
        k, body = data.get("k"), data.get("v")
        if not isinstance(k, int) or not 0 <= k < len(self.sent) or not isinstance(body, dict):
            raise WireError("a reply about a value that was never sent")
        target = self.sent[k]
        self._number(data, target)
        tag = body.get("t")
        if isinstance(target, list) and tag == "list":
            target[:] = [self.decode(v, depth + 1) for v in _list(body.get("v"))]
        elif isinstance(target, dict) and tag == "dict":
            new = {}
            self._fill_dict(new, body, depth)
            target.clear()
            target.update(new)
        elif isinstance(target, np.random.Generator) and tag == "rng":
            state = self.decode(body.get("s"), depth + 1)
            try:
                target.bit_generator.state = state
            except (TypeError, ValueError, KeyError):
                raise WireError("a generator state that does not fit") from None
        elif isinstance(target, np.ndarray) and tag in ("nd", "ndo"):
            new = self._array_value(body, depth)
            if new.shape != target.shape:
                raise WireError("an array that changed its shape in place")
            if target.dtype == object or new.dtype == object:
                target[...] = new
            else:
                np.copyto(target, new, casting="unsafe")
        else:
            raise WireError("a reply that changes a value into another type")
        return target


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _int(value):
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError("an int tag without an integer")
    return value


def _list(value):
    if not isinstance(value, list):
        raise WireError("a value whose items are not a list")
    return value


def _shape(shape):
    if (not isinstance(shape, list) or len(shape) > 32
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2 ** 40
                       for n in shape)):
        raise WireError("an array shape that is not a list of sizes")
    return tuple(shape)


def _array(data, shape):
    dtype = data.get("d")
    if not isinstance(dtype, str) or not _DTYPE.match(dtype):
        raise WireError(f"an array of dtype {str(dtype)[:20]!r}, which is not a numeric one")
    try:
        raw = base64.b64decode(data.get("b", ""), validate=True)
    except (ValueError, TypeError):
        raise WireError("array bytes that are not base64") from None
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise WireError("array bytes that do not match the shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _generator(state):
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise WireError("a random generator of an unknown kind")
    bits = getattr(np.random, name)()
    try:
        bits.state = state
    except (TypeError, ValueError, KeyError):
        raise WireError("a random generator state that does not fit") from None
    return np.random.Generator(bits)

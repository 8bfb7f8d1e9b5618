"""The student's side of grading in `course grade`: answer the grader's requests.

The grader runs each test cell in a process of its own. It asks this side, over
a Unix socket, for the student's names and to call the student's functions and
methods on inputs it chose; this side answers with plain data (see ``wire``) or
references to objects that stay here. Nothing here decides a score: code in this
process can be changed by the student's cells, so it can only change the
student's own answers.
"""
import builtins
import functools
import importlib
import inspect
import operator
import socket
import sys
import types
import warnings

import numpy as np

from coursetools.grade.protocol import wire
from coursetools.grade.protocol.framing import receive, send
from nnlib.grading.core import _ReferenceCalled, own_work_only, UNLOCKED

#: special methods a reference's proxy on the grader's side forwards here
FORWARDED = (
    "__call__", "__len__", "__iter__", "__next__", "__getitem__", "__setitem__",
    "__delitem__", "__contains__", "__bool__", "__float__", "__int__", "__index__",
    "__neg__", "__pos__", "__abs__", "__lt__", "__le__", "__gt__", "__ge__",
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
    "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__",
    "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__",
    "__iadd__", "__isub__", "__imul__", "__itruediv__",
)
_FORWARDED_SET = frozenset(FORWARDED)
#: the requests whose operands the kernel may change in place, as a call changes its
#: arguments in a notebook: each is a copy the check made for that call (core.call_student,
#: core.nudged_calls). Only their replies carry the operands back ("w"); the grader reads
#: no other request's operands from the kernel.
WRITE_BACK = frozenset({"call", "nudged"})
OPERATORS = ("neg", "pos", "abs", "lt", "le", "gt", "ge", "add", "sub", "mul", "truediv",
             "floordiv", "mod", "pow", "matmul", "iadd", "isub", "imul", "itruediv",
             "getitem", "setitem", "delitem", "contains")
BUILTINS = ("len", "iter", "next", "bool", "repr", "str", "isinstance", "issubclass",
            "float", "int", "getattr", "setattr", "delattr", "hasattr", "callable")
MAX_TEXT = 2000


def _functions():
    table = {name: getattr(operator, name) for name in OPERATORS}
    table.update({name: getattr(builtins, name) for name in BUILTINS})
    table["index"] = operator.index
    table["call"] = lambda f, args, kwargs: f(*args, **kwargs)
    table["parameters"] = lambda objects: [[str(name) for name in inspect.signature(f).parameters]
                                           for f in objects]
    table["sources"] = lambda objects: [_source(f) for f in objects]
    table["getattrs"] = lambda objects, name: [getattr(o, name) for o in objects]
    table["hasattrs"] = lambda objects, names: [[hasattr(o, n) for n in names] for o in objects]
    table["setattrs"] = lambda objects, name, values: [setattr(o, name, v)
                                                       for o, v in zip(objects, values)] and None
    table["fill"] = lambda containers, values: [
        containers[0][key].__setitem__(Ellipsis, value) for key, value in values.items()] and None
    table["nudged"] = lambda functions, array, entries, steps, args: _nudged(
        functions[0], array, entries, steps, args)
    table["unlock"] = _unlock
    table["isinstance_of"] = lambda cls, obj: isinstance(obj, cls)
    table["issubclass_of"] = lambda cls, other: issubclass(other, cls)
    return table


def _nudged(fn, array, entries, steps, args):
    """[[fn(*args) with array[index] moved by each step] for each index], the entry put back
    after each (see core.nudged_calls)."""
    rows = []
    for index in entries:
        index = tuple(index)
        old = array[index]
        row = []
        try:
            for step in steps:
                array[index] = old + step
                row.append(fn(*args))
        finally:
            array[index] = old
        rows.append(row)
    return rows


#: (socket, Server) of the test cell being answered, innermost last (serve_socket)
_ANSWERING = []


def served(name, assignment, args, kwargs):
    """nnlib's ``name`` computed by the grader: what the chapter's copy of nnlib
    (coursetools.grade.exam) holds in place of a graded name another graded name of the
    chapter builds on. The grader computes it only while it checks a graded name that
    builds on it (BUILDS_ON); otherwise, and outside a test cell, it is not there.
    Once the test cell of ``name`` itself has been decided, the grader hands its code
    over (``_unlock``) and it runs here: an answer already graded is no longer a key."""
    unlocked = UNLOCKED.get(name)
    if unlocked is not None:
        return unlocked(*args, **kwargs)
    if not _ANSWERING:
        raise RuntimeError(f"nnlib's {name} is not available while {assignment} is graded: "
                           "the grader compares your work with it")
    sock, server = _ANSWERING[-1]
    encoder = wire.Encoder(server.reference)
    send(sock, {"cb": name, "a": encoder.encode([list(args), dict(kwargs)])})
    data = receive(sock)
    if data is None:
        raise RuntimeError("the grader closed the connection")
    reply = wire.loads(data)
    if "refused" in reply:
        raise RuntimeError(f"nnlib's {name} may not be used here: {_text(reply['refused'])}")
    if "x" in reply:
        raise _rebuilt(reply["x"])
    decoder = wire.Decoder(server.resolve, list(encoder.keep))
    result = decoder.decode(reply.get("r"))
    decoder.decode(reply.get("w"))          # the arguments as the reference left them (rng)
    return iter(result) if reply.get("gen") else result


def _unlock(module, name, source):
    """Define nnlib's ``name`` from ``source`` (the grader's, sent once ``name`` is graded)
    in its module here, in place of its stub. A function's stub calls it from then on
    (``served``); a class takes its stub's place in every module of nnlib."""
    if not (isinstance(module, str) and module.startswith("nnlib.") and isinstance(name, str)
            and isinstance(source, str)):
        raise wire.WireError("an unlock that is not a module, a name and a source")
    home = importlib.import_module(module)
    stub = getattr(home, name, None)
    exec(compile(source, home.__file__, "exec"), vars(home))
    UNLOCKED[name] = unlocked = vars(home)[name]
    if isinstance(stub, type):
        for other in list(sys.modules.values()):
            if (isinstance(other, types.ModuleType) and other.__name__.partition(".")[0] == "nnlib"
                    and other.__dict__.get(name) is stub):
                setattr(other, name, unlocked)


def _rebuilt(info):
    """The reference's exception, as the student's code would have seen it."""
    kind = getattr(builtins, str(info.get("e")), None) if isinstance(info, dict) else None
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = RuntimeError
    return kind(_text(info.get("m", "")) if isinstance(info, dict) else "")


def _source(fn):
    """inspect.getsource(fn), or None when there is none (core.source_of)."""
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return None


class Server:
    """Objects handed to the grader by number, and the requests that use them."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.objects, self.numbers = {}, {}
        self.types = {}             # id(class) -> (class, its forwarded ops, its name)
        self.functions = _functions()

    # references -------------------------------------------------------------
    def reference(self, obj):
        key = id(obj)
        if key not in self.numbers:
            self.numbers[key] = len(self.objects)
            self.objects[len(self.objects)] = obj
        kind = "class" if isinstance(obj, type) else "callable" if callable(obj) else "object"
        ops, type_name = self._type_info(type(obj))
        return {"t": "ref", "id": self.numbers[key], "kind": kind, "ops": ops, "type": type_name}

    def _type_info(self, cls):
        """(the special methods of FORWARDED that ``cls`` defines, its name), worked out once
        per class for this test cell (a Value check hands over thousands of Values)."""
        known = self.types.get(id(cls))
        if known is None or known[0] is not cls:
            defined = set()
            for base in cls.__mro__:
                defined.update(_FORWARDED_SET.intersection(vars(base)))
            known = self.types[id(cls)] = (cls, [name for name in FORWARDED if name in defined],
                                           _text(getattr(cls, "__name__", "object")))
        return known[1], known[2]

    def resolve(self, data):
        tag = data["t"]
        if tag == "ref" and data.get("id") in self.objects:
            return self.objects[data["id"]]
        if tag == "fn":
            return _named_function(data.get("m"), data.get("q"))
        if tag == "partial":
            decoder = wire.Decoder(self.resolve)
            args = decoder.decode(data.get("a"))
            kwargs = decoder.decode(data.get("k"))
            return functools.partial(decoder.decode(data.get("f")), *args, **kwargs)
        raise wire.WireError(f"unknown tag {tag!r}")

    # one request -------------------------------------------------------------
    def answer(self, request):
        number = request.get("id")
        decoder = wire.Decoder(self.resolve)
        errors = request.get("err") if isinstance(request.get("err"), dict) else {}
        try:
            operands = decoder.decode(request.get("a"))
            # numpy's warnings as the grader has them set, and every warning recorded:
            # the grader raises them again on its side, where a check may look at them
            with warnings.catch_warnings(record=True) as caught, np.errstate(**_errstate(errors)):
                warnings.simplefilter("always")
                result = self._perform(request, operands)
        except _Refused as refused:
            return {"id": number, "refused": refused.args[0]}
        except BaseException as exc:   # the student's exception, reported as data
            return {"id": number, "x": _exception(exc)}
        sent = {id(obj): k for k, obj in decoder.numbered.items()}
        encoder = wire.Encoder(self.reference, sent)
        try:
            live = wire.Encoder(self.reference, sent, by_reference=True)
            answer = (live if request.get("live") else encoder).encode(result)
            reply = {"id": number, "r": answer}
            if request.get("op") in WRITE_BACK:
                reply["w"] = encoder.encode(operands)
        except BaseException as exc:
            return {"id": number, "x": _exception(exc)}
        if caught:
            reply["warn"] = [[_text(w.category.__name__), _text(w.message)] for w in caught[:20]]
        return reply

    def _perform(self, request, operands):
        op = request.get("op")
        if op == "name":
            name = request.get("n")
            if not isinstance(name, str) or name not in self.namespace:
                raise NameError(f"name {name!r} is not defined")
            return self.namespace[name]
        function = self.functions.get(op)
        if function is None or not isinstance(operands, list):
            raise wire.WireError(f"unknown request {op!r}")
        graded = request.get("as")
        if not isinstance(graded, str):
            return _text_result(op, function(*operands))
        refused = []
        try:
            with own_work_only(graded) as refused:
                result = function(*operands)
        except _ReferenceCalled:
            result = None
        if refused:
            raise _Refused(refused[0])
        return _text_result(op, result)


class _Refused(Exception):
    """The student's code called nnlib's reference (the qualified name is the argument)."""


def _errstate(errors):
    allowed = {"ignore", "warn", "raise", "call", "print", "log"}
    return {k: v for k, v in errors.items()
            if k in ("divide", "over", "under", "invalid") and v in allowed}


def _text_result(op, result):
    return _text(result) if op in ("repr", "str") else result


def _text(value):
    value = str(value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "..."


def _exception(exc):
    names = [k.__name__ for k in type(exc).__mro__ if getattr(builtins, k.__name__, None) is k]
    try:
        message = _text(exc)
    except BaseException:
        message = ""
    info = {"e": _text(type(exc).__name__), "m": message, "b": names}
    if all(isinstance(a, (str, int, float, bool, type(None))) for a in exc.args):
        info["a"] = [_text(a) if isinstance(a, str) else a for a in exc.args]
    return info


def _named_function(module, qualname):
    if not (isinstance(module, str) and isinstance(qualname, str)
            and (module == "nnlib" or module.startswith("nnlib."))):
        raise wire.WireError("a function that is not nnlib's")
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def serve(path, namespace):
    """Answer the grader on the Unix socket at ``path`` until it says goodbye."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        serve_socket(sock, namespace)


def serve_socket(sock, namespace):
    """Answer the grader's requests on a connected socket, with ``namespace``'s names."""
    server = Server(namespace)
    _ANSWERING.append((sock, server))
    try:
        _serve(sock, server)
    finally:
        _ANSWERING.pop()


def _serve(sock, server):
    while True:
        try:
            data = receive(sock)
        except KeyboardInterrupt:      # an interrupt meant for a call that has ended
            continue
        if data is None:
            return
        request = wire.loads(data)
        if request.get("op") == "bye":
            return
        try:
            send(sock, server.answer(request))
        except KeyboardInterrupt:
            send(sock, {"id": request.get("id"), "x": _exception(KeyboardInterrupt())})

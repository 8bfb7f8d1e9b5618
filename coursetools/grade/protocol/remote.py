"""The grader's side of `course grade`: run a test cell here, the student's code there.

A test cell's source is the instructor's. It runs in the grader's process, where
no student code has run; every name it does not define itself (``dense``,
``Value``) is looked up in the student's kernel (see ``kernel_side``) and arrives
as plain data or as a proxy. Calling a proxy, reading its attributes or applying
an operator to it is a request to the kernel, answered with plain data. So the
checks and their messages are the ones students run in their notebooks, while
the comparisons, and the verdict, happen here.
"""
import builtins
import contextlib
import functools
import inspect
import io
import itertools
import socket
import time
import traceback
import types
import warnings

import numpy as np

from coursetools.grade import timeouts
from coursetools.grade.protocol import wire
from coursetools.grade.protocol.framing import receive, send
from coursetools.grade.protocol.kernel_side import FORWARDED, WRITE_BACK
from nnlib.grading import core


#: the special attributes read from the kernel, and what each must be; any other name
#: with two underscores on each side is never asked for (numpy's __array_interface__, ...)
DATA_DUNDERS = {"__name__": str, "__qualname__": str, "__module__": str, "__doc__": str,
                "__mro__": tuple}


class KernelGone(Exception):
    """The student's kernel stopped answering (died, or ignored an interrupt)."""


class Connection:
    """Requests to one student's kernel over a connected socket.

    ``interrupt()`` asks the kernel to stop what it runs (a call that ran out of
    time); ``deadline`` bounds every wait, however the student's code behaves.
    """

    def __init__(self, sock, interrupt, deadline, grace=timeouts.INTERRUPT_GRACE):
        self.sock, self.interrupt = sock, interrupt
        self.deadline, self.grace = deadline, grace
        self.number, self.stale, self.gone = 0, None, None
        self.proxies = {}
        self.notes = []      # what the kernel did that a correct notebook does not
        self.refusals = []   # building blocks asked for where the check does not allow them

    # the protocol ---------------------------------------------------------
    def request(self, op, *operands, name=None, graded=None, live=False):
        if self.gone:
            raise KernelGone(self.gone)
        if self.stale is not None:
            self._recover()
        self.number += 1
        encoder = wire.Encoder(self._send_other)
        message = {"id": self.number, "op": op, "a": encoder.encode(list(operands))}
        if name is not None:
            message["n"] = name
        if graded is not None:
            message["as"] = graded
        if live:
            message["live"] = True
        message["err"] = np.geterr()    # numpy's warnings as the checks set them here
        sent = list(encoder.keep)        # in the order they were numbered
        sending = True
        try:
            send(self.sock, message)
            sending = False
            reply = self._reply(self.number)
        except BaseException:
            if sending:        # half a message went out: the stream cannot be trusted
                self.gone = "the notebook's kernel was cut off in the middle of a request"
            elif not self.gone:
                self.stale = self.number      # a time limit struck while the kernel worked
            raise
        if self.refusals:          # whatever the kernel made of the refusal
            refused, self.refusals = self.refusals[0], []
            raise core._ReferenceCalled(refused)
        return self._result(reply, sent, live, write_back=op in WRITE_BACK)

    def _reply(self, number, wait=None):
        seconds = self.deadline if wait is None else wait
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return self._time_out(seconds)
            self.sock.settimeout(left)
            try:
                data = receive(self.sock)
            except socket.timeout:
                return self._time_out(seconds)
            except (OSError, wire.WireError) as exc:
                return self._lose(f"broke the connection ({exc})")
            if data is None:
                return self._lose("closed the connection")
            try:
                reply = wire.loads(data)
            except wire.WireError as exc:
                self._lose(f"sent something that is not plain data ({exc})")
            if not isinstance(reply, dict):
                self._lose("sent a reply that is not a dict")
            if "cb" in reply:
                self._serve_building_block(reply)
            elif reply.get("id") == number:
                return reply

    def _serve_building_block(self, message):
        """Compute nnlib's building block the kernel's copy of nnlib asks for
        (kernel_side.served), if the check in progress allows it (BUILDS_ON)."""
        name, allowance = message.get("cb"), core.current_allowance()
        if not isinstance(name, str) or name not in core.BUILDS_ON.get(allowance, ()):
            self.refusals.append(str(name)[:60])
            return send(self.sock, {"refused": f"{allowance or 'this check'} may not use it"})
        decoder = wire.Decoder(_no_references)
        try:
            args, kwargs = decoder.decode(message.get("a"))
            if not (isinstance(args, list) and isinstance(kwargs, dict)
                    and all(isinstance(k, str) for k in kwargs)):
                raise wire.WireError("arguments that are not a list and a dict")
        except (wire.WireError, ValueError, TypeError) as exc:
            return send(self.sock, {"refused": f"its arguments are not plain data ({exc})"[:300]})
        import nnlib
        try:
            result = getattr(nnlib, name)(*args, **kwargs)
            generator = isinstance(result, types.GeneratorType)
            if generator:
                result = list(itertools.islice(result, wire.MAX_DECODED_ITEMS))
        except Exception as exc:     # the reference refusing the student's inputs
            return send(self.sock, {"x": {"e": type(exc).__name__, "m": str(exc)[:2000]}})
        encoder = wire.Encoder(self._send_other, {id(o): k for k, o in decoder.numbered.items()})
        send(self.sock, {"r": encoder.encode(result), "w": encoder.encode([args, kwargs]),
                         "gen": generator})

    def _time_out(self, seconds):
        """A call past the cell's time limit: a grading result (the check fails, saying so),
        not a finding. The kernel is asked to stop the call, so that the notebook's later
        cells still run; this connection is done."""
        self.gone = (f"the notebook's kernel ran past the time limit of {seconds:g} s (an "
                     "endless loop, or a very slow one?)")
        with contextlib.suppress(Exception):
            self.interrupt()
        raise KernelGone(self.gone)

    def _lose(self, why):
        self.gone = f"the notebook's kernel {why}"
        self.notes.append(self.gone)
        raise KernelGone(self.gone)

    def _recover(self):
        """After a call ran out of time: interrupt it and wait for its (discarded) reply."""
        stale, self.stale = self.stale, None
        self.interrupt()
        try:
            self._reply(stale, wait=self.grace)
        except KernelGone:
            self.gone = ("the notebook's kernel kept running a call that ran out of time and "
                         "ignored the interrupt")
            self.notes.append(self.gone)
            raise KernelGone(self.gone) from None

    def unlock(self, name):
        """Hand nnlib's ``name`` to the kernel's copy of nnlib, where it is served
        (kernel_side.served): its own test cell has just been decided."""
        import nnlib
        function = getattr(nnlib, name)
        self.request("unlock", function.__module__, name, inspect.getsource(function))

    def close(self):
        if not self.gone and self.stale is None:
            with contextlib.suppress(OSError):
                send(self.sock, {"id": 0, "op": "bye"})
        self.sock.close()

    # values ---------------------------------------------------------------
    def _send_other(self, value):
        if isinstance(value, Remote):
            if object.__getattribute__(value, "_connection") is not self:
                raise TypeError("a proxy from another kernel")
            return {"t": "ref", "id": object.__getattribute__(value, "_number")}
        if isinstance(value, functools.partial):
            inner = wire.Encoder(self._send_other)
            return {"t": "partial", "f": inner.encode(value.func),
                    "a": inner.encode(list(value.args)), "k": inner.encode(dict(value.keywords))}
        module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", "")
        if (callable(value) and isinstance(module, str) and module.split(".")[0] == "nnlib"
                and "<" not in qualname):
            return {"t": "fn", "m": module, "q": qualname}
        raise TypeError(f"the grader cannot send a {type(value).__name__} to the notebook")

    def _receive_other(self, data, live=False):
        if data.get("t") != "ref":
            raise wire.WireError(f"unknown tag {str(data.get('t'))[:20]!r}")
        number, kind, ops = data.get("id"), data.get("kind"), data.get("ops")
        if (not isinstance(number, int) or kind not in ("class", "callable", "object")
                or not isinstance(ops, list) or not isinstance(data.get("type"), str)):
            raise wire.WireError("a malformed reference")
        try:
            known = _known_ops(tuple(ops))      # names that are not FORWARDED's are ignored
        except TypeError:                       # an entry that is not even hashable
            raise wire.WireError("a malformed reference") from None
        cls = _proxy_class(kind, known)
        return self._proxy(cls, number, data["type"][:200], live)

    def _proxy(self, cls, number, type_name, live):
        """The one proxy of kernel object ``number`` (per ``live``), so ``is`` works here."""
        if (number, live) not in self.proxies:
            proxy = object.__new__(cls)
            for slot, value in zip(Remote.__slots__, (self, number, type_name, live)):
                object.__setattr__(proxy, slot, value)
            self.proxies[number, live] = proxy
        return self.proxies[number, live]

    def live_twin(self, proxy):
        """The proxy of the same object whose reads return the kernel's own containers."""
        number, type_name = (object.__getattribute__(proxy, slot) for slot in ("_number", "_type"))
        return self._proxy(type(proxy), number, type_name, True)

    def _result(self, reply, sent, live, write_back):
        given = reply.get("warn")
        for warning in given[:20] if isinstance(given, list) else []:
            if isinstance(warning, list) and len(warning) == 2:
                _warn(*warning)
        if "refused" in reply:
            raise core._ReferenceCalled(str(reply["refused"])[:200])
        if "x" in reply:
            raise _exception(reply["x"])
        decoder = wire.Decoder(functools.partial(self._receive_other, live=live), sent,
                               write_back=write_back)
        try:
            result = decoder.decode(reply.get("r"))
            if write_back:       # the operands as the call left them (no other reply has them)
                decoder.other = self._receive_other
                decoder.decode(reply.get("w"))
        except wire.WireError as exc:
            self._lose(f"sent a reply that is not plain data ({exc})")
        return result


def _no_references(data):
    raise wire.WireError("a reference to an object of the kernel's")


# ------------------------------------------------------------------ proxies

class Remote:
    """A student's object that stays in the kernel; everything done to it is a request."""

    __slots__ = ("_connection", "_number", "_type", "_live")
    _nnlib_remote_kind = "object"

    def _ask(self, op, *operands):
        """Request ``op`` with this object as the first operand."""
        return Remote._request(self, op, self, *operands)

    def _request(self, op, *operands):
        """Request ``op`` on ``operands`` from this object's kernel, as the call in progress."""
        connection = object.__getattribute__(self, "_connection")
        return connection.request(op, *operands, graded=core.current_allowance(),
                                  live=object.__getattribute__(self, "_live"))

    @staticmethod
    def _nnlib_each(objects, op, *operands):
        """(True, the answer) of one request ``op`` on a list of proxies
        (``core.attributes``), or (False, None) when they are not all of one kernel."""
        connection = object.__getattribute__(objects[0], "_connection")
        if any(not isinstance(o, Remote) or object.__getattribute__(o, "_connection")
               is not connection for o in objects):
            return False, None
        return True, connection.request(op, list(objects), *operands,
                                        graded=core.current_allowance())

    @staticmethod
    def _nnlib_live(proxy):
        return object.__getattribute__(proxy, "_connection").live_twin(proxy)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            return _data_dunder(self, name)
        return Remote._ask(self, "getattr", name)

    def __setattr__(self, name, value):
        Remote._ask(self, "setattr", name, value)

    def __delattr__(self, name):
        Remote._ask(self, "delattr", name)

    def __repr__(self):
        return Remote._ask(self, "repr")

    def __str__(self):
        return Remote._ask(self, "str")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("a student's object cannot be pickled by the grader")

    def __instancecheck__(self, obj):
        return Remote._ask(self, "isinstance_of", obj)

    def __subclasscheck__(self, cls):
        return Remote._ask(self, "issubclass_of", cls)


def _data_dunder(proxy, name):
    """A special attribute of DATA_DUNDERS, read from the kernel and checked to be what it
    must be (a str or None; a tuple of the kernel's classes); AttributeError otherwise."""
    kind = DATA_DUNDERS.get(name)
    if kind is None:
        raise AttributeError(name)
    value = Remote._ask(proxy, "getattr", name)
    if value is None and kind is str:
        return None
    if kind is str and isinstance(value, str):
        return value[:1000]
    if (kind is tuple and isinstance(value, tuple) and len(value) < 100
            and all(getattr(type(v), "_nnlib_remote_kind", None) == "class" for v in value)):
        return value
    raise AttributeError(f"{name} of a student's object is not a {kind.__name__}")


def _remote_attribute(name):
    return property(lambda self: _data_dunder(self, name))


def _operator(op, reflected=False):
    if reflected:         # 1.5 + v: the plain value first, as the kernel must see it
        return lambda self, other: Remote._request(self, op, other, self)
    return lambda self, *operands: Remote._ask(self, op, *operands)


_REFLECTED = {"radd": "add", "rsub": "sub", "rmul": "mul", "rtruediv": "truediv",
              "rfloordiv": "floordiv", "rmod": "mod", "rpow": "pow", "rmatmul": "matmul"}
_BUILTIN_OPS = {"__len__": "len", "__iter__": "iter", "__next__": "next", "__bool__": "bool",
                "__float__": "float", "__int__": "int", "__index__": "index"}


def _method(name):
    if name == "__call__":
        return lambda self, *args, **kwargs: Remote._ask(self, "call", args, kwargs)
    if name in _BUILTIN_OPS:
        return _operator(_BUILTIN_OPS[name])
    bare = name.strip("_")
    if bare in _REFLECTED:
        return _operator(_REFLECTED[bare], reflected=True)
    return _operator(bare)


@functools.lru_cache(maxsize=1024)
def _known_ops(ops):
    """The special methods of FORWARDED among the names a reference lists, in their order."""
    return tuple(op for op in FORWARDED if op in ops)


@functools.lru_cache(maxsize=None)
def _proxy_class(kind, ops):
    namespace = {"__slots__": (), "_nnlib_remote_kind": kind,
                 "__module__": _remote_attribute("__module__"),
                 "__doc__": _remote_attribute("__doc__")}
    for op in ops:
        namespace[op] = _method(op)
    return type("Remote", (Remote,), namespace)


# --------------------------------------------------------------- exceptions

def _warn(category, text):
    """A warning the student's code gave, raised again here for the checks to see."""
    found = getattr(builtins, str(category), None)
    if not (isinstance(found, type) and issubclass(found, Warning)):
        found = UserWarning
    warnings.warn(str(text)[:2000], found, stacklevel=2)


_NOT_RAISED_HERE = (KeyboardInterrupt, SystemExit, GeneratorExit)


@functools.lru_cache(maxsize=None)
def _exception_class(name, base):
    return type(name, (base,), {"__module__": "student"})


def _exception(info):
    """A local exception of the same name (and builtin family) as the student's."""
    if not isinstance(info, dict):
        return KernelGone("the notebook's kernel sent a malformed error")
    name = str(info.get("e", "Exception"))[:100]
    args = info.get("a")
    if not (isinstance(args, list) and all(isinstance(a, (str, int, float, bool, type(None)))
                                           for a in args)):
        args = [str(info.get("m", ""))[:2000]]
    same = getattr(builtins, name, None)
    if (isinstance(same, type) and issubclass(same, BaseException)
            and not issubclass(same, _NOT_RAISED_HERE)):
        return same(*args)
    base = Exception
    for candidate in info.get("b", []) if isinstance(info.get("b"), list) else []:
        found = getattr(builtins, str(candidate), None)
        if (isinstance(found, type) and issubclass(found, Exception)
                and not issubclass(found, _NOT_RAISED_HERE)):
            base = found
            break
    return _exception_class(name if name.isidentifier() else "StudentError", base)(*args)


# ------------------------------------------------------------- a test cell

class _CellNames(dict):
    """A test cell's names: its own, then the builtins, then the student's kernel."""

    def __init__(self, connection):
        super().__init__()
        self.connection = connection

    def __missing__(self, name):
        if name in vars(builtins):
            raise KeyError(name)
        try:
            value = self.connection.request("name", name=name)
        except NameError:
            raise KeyError(name) from None
        self[name] = value
        return value


def run_test_cell(source, connection):
    """Run the instructor's test cell ``source`` here against the student's kernel.

    Returns nbformat-style outputs: a stream of what the checks printed and, when
    the cell failed, one error (GradingError's one-line message, as in Jupyter).
    """
    printed = io.StringIO()
    names = _CellNames(connection)
    error = None
    try:
        code = compile(source, "<test cell>", "exec")
        with (contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed),
              core.checks_in_grader()):
            exec(code, {"__builtins__": builtins, "__name__": "__main__"}, names)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:     # the student's failure, or a kernel that stopped
        error = exc
    outputs = []
    if printed.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": printed.getvalue()})
    if error is not None:
        ename = type(error).__name__
        lines = ("".join(traceback.format_exception_only(type(error), error)).strip()
                 if not isinstance(error, core.GradingError) else f"{ename}: {error}")
        outputs.append({"output_type": "error", "ename": ename, "evalue": str(error),
                        "traceback": [lines]})
    return outputs

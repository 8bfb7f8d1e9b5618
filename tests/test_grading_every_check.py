"""What every check in nnlib.grading does the same way, whatever the function or class it grades.

The class checks' own test files try each method's stub, None, exception and endless loop."""
import sys

import numpy as np
import pytest

import nnlib
import nnlib.grading.core as core
from gradingtools import HIDDEN, failure, passes
from nnlib import grading

NAMES = [name[len("check_"):] for name in grading.__all__ if name.startswith("check_")]
FUNCTIONS = [name for name in NAMES if not name[0].isupper()]
CLASSES = [name for name in NAMES if name[0].isupper()]
EVERY = pytest.mark.parametrize("name", FUNCTIONS)
EVERY_CLASS = pytest.mark.parametrize("name", CLASSES)


def check(name):
    return getattr(grading, f"check_{name}")


@HIDDEN
@EVERY
def test_the_untouched_stub_is_not_implemented(name, hidden):
    def stub(*args):
        """The student's version: the signature, the docstring and this line."""
        raise NotImplementedError()
    failure(check(name), stub, hidden,
            rf"^{name} is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@EVERY
def test_returning_none_asks_for_return(name, hidden):
    def forgot_return(*args):
        print(len(args))      # computes and shows something, returns nothing
    failure(check(name), forgot_return, hidden,
            rf"^{name}\(.*\) returned None\. Did you forget the `return` statement\?$")


@HIDDEN
@EVERY
def test_an_exception_is_one_line_naming_it_and_the_inputs(name, hidden):
    def type_error(*args):
        return len(3.5)
    failure(check(name), type_error, hidden,
            rf"^{name}\(.*\) raised TypeError: object of type 'float' has no len\(\)$")


@HIDDEN
@EVERY
def test_nnlib_reference_function_is_rejected(name, hidden):
    failure(check(name), getattr(nnlib, name), hidden,
            rf"^{name} is nnlib's reference implementation, not yours\. Write the function "
            r"yourself")


@HIDDEN
@EVERY
def test_a_value_in_place_of_the_function_is_rejected(name, hidden):
    failure(check(name), np.zeros(3), hidden,
            rf"^{name} should be a function, but it is a ndarray\. Did you overwrite it")


@HIDDEN
@EVERY
def test_a_wrapper_around_the_reference_is_refused(name, hidden):
    reference = getattr(nnlib, name)

    def wrapper(*args, **kwargs):
        return reference(*args, **kwargs)
    failure(check(name), wrapper, hidden,
            rf"^{name}\(.*\) calls nnlib's {name}, the reference the grader compares with\. "
            rf"Write {name} with your own code")


@EVERY
def test_catching_the_refusal_does_not_help(name):
    reference = getattr(nnlib, name)

    def sneaky(*args, **kwargs):
        try:
            return reference(*args, **kwargs)
        except BaseException:       # the refusal; the second call is no longer watched
            return reference(*args, **kwargs)
    failure(check(name), sneaky, False, rf"^{name}\(.*\) calls nnlib's {name}, the reference")


@EVERY
def test_an_endless_loop_is_stopped_and_reported(name, monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)

    def endless(*args):
        total = 0.0
        while True:
            total += 1.0
    failure(check(name), endless, False,
            rf"^{name}\(.*\) did not finish within 0\.3 s\. Look for a loop that never ends\.$")


@pytest.mark.parametrize("name", NAMES)
def test_the_reference_passes_its_own_check(name, monkeypatch, capsys):
    """With the guards against handing in nnlib's own code lifted, the reference passes."""
    monkeypatch.setattr(core, "_NNLIB", "/no such directory/")
    for module in [m for key, m in sys.modules.items() if key.startswith("nnlib.grading.")]:
        for guard in ("ensure_student_function", "ensure_student_class"):
            if hasattr(module, guard):
                monkeypatch.setattr(module, guard, lambda fn, name: None)
    for hidden in (False, True):
        passes(check(name), getattr(nnlib, name), hidden, capsys, name)


def test_every_curriculum_name_has_a_check():
    from coursetools.curriculum import CURRICULUM
    graded = {name for names in CURRICULUM.values() for name in names}
    assert graded == set(NAMES)


@HIDDEN
@EVERY_CLASS
def test_an_untouched_class_stub_is_not_implemented(name, hidden):
    def stub(self, *args, **kwargs):
        raise NotImplementedError()
    methods = {attr: stub for attr in vars(getattr(nnlib, name))
               if callable(getattr(getattr(nnlib, name), attr)) and attr != "__new__"}
    failure(check(name), type(name, (), methods), hidden,
            rf"^{name}(\.\w+)? is not implemented yet: it still raises NotImplementedError")


@HIDDEN
@EVERY_CLASS
def test_nnlib_reference_class_is_rejected(name, hidden):
    failure(check(name), getattr(nnlib, name), hidden,
            rf"^{name} is nnlib's reference implementation, not yours\. Write the class yourself")


@HIDDEN
@EVERY_CLASS
def test_a_subclass_of_the_reference_is_rejected(name, hidden):
    borrowed = type(name, (getattr(nnlib, name),), {})
    failure(check(name), borrowed, hidden,
            rf"^{name} inherits from nnlib's {name}, the reference implementation\. Write the class "
            r"yourself in the exercise cell\.$")


@HIDDEN
@EVERY_CLASS
def test_a_class_that_delegates_to_the_reference_is_refused(name, hidden):
    reference = getattr(nnlib, name)

    class Borrowing:
        def __init__(self, *args, **kwargs):
            self.inner = reference(*args, **kwargs)

        def __getattr__(self, attr):
            return getattr(self.inner, attr)
    Borrowing.__name__ = name
    failure(check(name), Borrowing, hidden,
            rf"calls nnlib's {name}\.__init__, the reference the grader compares with\. "
            rf"Write {name} with your own code")


@HIDDEN
@EVERY_CLASS
def test_a_function_in_place_of_the_class_is_rejected(name, hidden):
    def lookalike(*args):
        return 0.0
    failure(check(name), lookalike, hidden,
            rf"^{name} should be a class, but it is a function\. Did you overwrite it")

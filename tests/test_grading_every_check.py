"""What every check in nnlib.grading does the same way, whatever the function it grades."""
import numpy as np
import pytest

import nnlib
import nnlib.grading.core as core
from gradingtools import HIDDEN, failure
from nnlib import grading

NAMES = [name[len("check_"):] for name in grading.__all__ if name.startswith("check_")]
EVERY = pytest.mark.parametrize("name", NAMES)


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


@EVERY
def test_an_endless_loop_is_stopped_and_reported(name, monkeypatch):
    monkeypatch.setattr(core, "CALL_TIME_LIMIT", 0.3)

    def endless(*args):
        total = 0.0
        while True:
            total += 1.0
    failure(check(name), endless, False,
            rf"^{name}\(.*\) did not finish within 0\.3 s\. Look for a loop that never ends\.$")

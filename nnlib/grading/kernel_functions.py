"""The functions checks hand to a student's code to call: chapter 3's smooth test functions.

Under `course grade` a check sends them to the student's kernel by name (``remote``), so
they must be there: they live apart from the checks, and the sandbox's copy of nnlib
holds this module but none of the checks (``coursetools.grade.exam``). They are named so that
messages read numerical_gradient(f_sin, array (5,)). They work on scalars and arrays
alike; some return numpy scalars, some Python floats.
"""
import numpy as np


def f_sin(x):
    return np.sum(np.sin(x) * x ** 2)


def f_coupled(x):
    """Couples the entries, so an x left perturbed changes the later partial derivatives."""
    return float(np.log(1.0 + np.sum(x ** 2)) + np.sum(np.cos(x)) * np.sum(x))


def f_exp(x):
    return np.sum(np.exp(0.5 * x)) + 0.25 * np.sum(x ** 4)


def f_cube(x):
    return float(np.sum(x ** 3 - 2.0 * x))

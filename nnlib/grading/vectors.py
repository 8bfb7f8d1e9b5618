"""Checks for chapter 1 (01_dot_product): dot products and the neuron as a weighted sum."""
import ast
import textwrap

import numpy as np

from nnlib import vectors as ref
from nnlib.grading.core import (GradingError, Hint, SIGN_FLIPPED, call_student, case_rng,
                                describe_call, ensure_student_function, expect_raises, passed,
                                run_cases, source_of, type_name)

_DOT_HINTS = (
    SIGN_FLIPPED,
    Hint("you add x_i + w_i instead of multiplying them",
         lambda e, a: np.sum(a[0]) + np.sum(a[1])),
    Hint("the loop skips the last entry", lambda e, a: np.dot(a[0][:-1], a[1][:-1])),
    Hint("the loop skips the first entry", lambda e, a: np.dot(a[0][1:], a[1][1:])),
    Hint("the running total is reset inside the loop, so only the last product is kept",
         lambda e, a: float(a[0][-1]) * float(a[1][-1])),
    Hint("you multiply by the squared entries", lambda e, a: np.dot(np.square(a[0]), a[1])),
)


def _vector_pairs(rng, hidden):
    lengths = [1, 3, 8, 50] if hidden else [3, 5]
    pairs = [(rng.normal(size=d), rng.normal(size=d)) for d in lengths]
    if hidden:
        pairs.append(([1, 2, 3], [4, 5, 6]))              # plain lists of ints
        pairs.append((rng.normal(size=4) * 1e3, rng.normal(size=4) * 1e-3))
    return pairs


def _uses_a_loop(fn):
    """True when fn's source has a for/while loop or a comprehension (None if unknown)."""
    source = source_of(fn)
    try:
        tree = ast.parse(textwrap.dedent(source)) if source is not None else None
    except (SyntaxError, ValueError):
        tree = None
    if tree is None:
        return None
    loops = (ast.For, ast.While, ast.comprehension)
    return any(isinstance(node, loops) for node in ast.walk(tree))


def check_dot_loop(dot_loop, hidden=False):
    """dot_loop(x, w): an explicit loop; ValueError when the lengths differ."""
    ensure_student_function(dot_loop, "dot_loop")
    rng = case_rng("dot_loop", hidden)
    cases = [((x, w), {}) for x, w in _vector_pairs(rng, hidden)]
    mismatches = [(np.ones(3), np.ones(4))] + ([([1.0, 2.0], [1.0])] if hidden else [])

    def has_a_loop():
        found = _uses_a_loop(dot_loop)
        if found is None:
            raise GradingError("dot_loop's source could not be read, so its loop cannot be "
                               "seen: define it with `def dot_loop(x, w):` in the exercise "
                               "cell and run that cell.")
        if found is False:
            raise GradingError("dot_loop must compute the sum with an explicit for loop "
                               "(the point of the exercise); yours has no loop.")

    run_cases("dot_loop", dot_loop, ref.dot_loop, cases, hints=_DOT_HINTS, then=[
        lambda args=args: expect_raises("dot_loop", dot_loop, args, ValueError,
                                        "x and w have different lengths")
        for args in mismatches] + [has_a_loop])


def check_dot(dot, hidden=False):
    """dot(x, w): the vectorised dot product."""
    rng = case_rng("dot", hidden)
    cases = [((np.asarray(x, float), np.asarray(w, float)), {})
             for x, w in _vector_pairs(rng, hidden)]
    run_cases("dot", dot, ref.dot, cases, hints=_DOT_HINTS)


_COSINE_HINTS = (
    SIGN_FLIPPED,
    Hint("you return the plain dot product: divide by both vector lengths (norms)",
         lambda e, a: np.dot(a[0], a[1])),
    Hint("you divide by the squared lengths instead of the lengths",
         lambda e, a: np.dot(a[0], a[1]) / (np.dot(a[0], a[0]) * np.dot(a[1], a[1]))),
    Hint("you divide by the length of only one vector",
         lambda e, a: np.dot(a[0], a[1]) / np.linalg.norm(a[0])),
    Hint("you divide by the length of only one vector",
         lambda e, a: np.dot(a[0], a[1]) / np.linalg.norm(a[1])),
    Hint("you divide by the sum of the entries instead of the length",
         lambda e, a: np.dot(a[0], a[1]) / (np.sum(a[0]) * np.sum(a[1]))),
)


def check_cosine_similarity(cosine_similarity, hidden=False):
    """cosine_similarity(x, w) = x.w / (|x||w|)."""
    rng = case_rng("cosine_similarity", hidden)
    cases = [((x, w), {}) for x, w in _vector_pairs(rng, hidden)]
    base = rng.normal(size=6)
    cases += [((base, 3.0 * base), {}), ((base, -0.5 * base), {})]   # parallel: +1 and -1
    cases = [((np.asarray(x, float), np.asarray(w, float)), {}) for (x, w), _ in cases]

    def in_range(args, got, call):
        if not -1.0 - 1e-9 <= float(got) <= 1.0 + 1e-9:
            raise GradingError(f"{call} returned {float(got):.6g}; a cosine lies in [-1, 1].")

    run_cases("cosine_similarity", cosine_similarity, ref.cosine_similarity, cases,
              hints=_COSINE_HINTS, extra=in_range)


def _most_similar_mistakes(x, candidates):
    """(diagnosis, the index that mistake returns) for the known wrong rankings."""
    scores = candidates @ x
    cosines = scores / (np.linalg.norm(candidates, axis=1) * np.linalg.norm(x))
    return [
        ("you picked the smallest dot product (argmin instead of argmax)",
         int(np.argmin(scores))),
        ("you compared cosine similarities; this function ranks by the plain dot product, "
         "so longer vectors score higher", int(np.argmax(cosines))),
        ("you ranked rows by their sum, not by their dot product with x",
         int(np.argmax(candidates.sum(axis=1)))),
    ]


def check_most_similar(most_similar, hidden=False):
    """most_similar(x, candidates): index of the row with the LARGEST DOT PRODUCT with x."""
    ensure_student_function(most_similar, "most_similar")
    rng = case_rng("most_similar", hidden)
    shapes = [(4, 3), (1, 5), (30, 8), (6, 2)] if hidden else [(4, 3), (5, 6)]
    cases = []
    for k, d in shapes:
        x = rng.normal(size=d)
        candidates = rng.normal(size=(k, d))
        if k > 2:   # best cosine, smallest dot and largest dot are three different rows
            candidates[0] = 0.01 * x
            candidates[1] = -5.0 * x
            candidates[-1] = 10.0 * (x + rng.normal(size=d) * 0.3 * np.linalg.norm(x))
        cases.append((x, candidates))
    answers = {}

    def answer(i):
        if i not in answers:
            x, candidates = cases[i]
            call = describe_call("most_similar", (x, candidates))
            got = call_student(most_similar, "most_similar", (x, candidates))
            if got is None:
                raise GradingError(f"{call} returned None. Did you forget the `return` "
                                   "statement?")
            if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
                raise GradingError(f"{call} returned a {type_name(got)}; it should return "
                                   "the row index as an int.")
            answers[i] = int(got)
        return answers[i]

    for i, (x, candidates) in enumerate(cases):
        call = describe_call("most_similar", (x, candidates))
        got = answer(i)
        if got == ref.most_similar(x, candidates):
            continue
        if not 0 <= got < len(candidates):
            hint = " That is not a valid row index."
        else:
            # the known mistakes that give this answer; when several do, the other cases
            # tell them apart (a mistake must explain every answer)
            likely = [text for text, index in _most_similar_mistakes(x, candidates)
                      if index == got]
            for j in range(len(cases)):
                if len(likely) < 2:
                    break
                try:
                    other = answer(j)
                except GradingError:
                    break
                mistakes = dict(_most_similar_mistakes(*cases[j]))
                narrowed = [text for text in likely if mistakes[text] == other]
                likely = narrowed or likely
            hint = (" Likely bug: " + "; or ".join(likely) + "." if likely else
                    " Compute one dot product per row, then take the index of the largest.")
        raise GradingError(f"{call} returned {got}, which is not the row with the largest "
                           f"dot product.{hint}")
    passed("most_similar", len(cases))


_BIAS_HINTS = (
    Hint("the bias is missing", lambda e, a: e - np.asarray(a[2], float)),
    Hint("the bias is subtracted instead of added", lambda e, a: e - 2 * np.asarray(a[2], float)),
    Hint("the bias is multiplied instead of added",
         lambda e, a: (e - np.asarray(a[2], float)) * np.asarray(a[2], float)),
)


def check_neuron(neuron, hidden=False):
    """neuron(x, w, b): the weighted sum x.w plus the bias b."""
    rng = case_rng("neuron", hidden)
    cases = [((x, w, float(rng.normal())), {}) for x, w in _vector_pairs(rng, hidden)
             if not isinstance(x, list)]
    cases.append(((rng.normal(size=3), rng.normal(size=3), 0.0), {}))
    run_cases("neuron", neuron, ref.neuron, cases, hints=_BIAS_HINTS + _DOT_HINTS[:1])


def check_dense(dense, hidden=False):
    """dense(X, W, b): (n, d) @ (d, h) + (h,) -> (n, h)."""
    rng = case_rng("dense", hidden)
    shapes = [(4, 3, 2), (1, 5, 1), (7, 1, 4), (32, 10, 6)] if hidden else [(4, 3, 2), (6, 5, 3)]
    cases = [((rng.normal(size=(n, d)), rng.normal(size=(d, h)), rng.normal(size=h)), {})
             for n, d, h in shapes]
    hints = _BIAS_HINTS + (
        Hint("the bias is added once per example (over rows) instead of once per unit",
             lambda e, a: a[0] @ a[1] + np.sum(a[2])),
        SIGN_FLIPPED,
    )
    run_cases("dense", dense, ref.dense, cases, hints=hints)

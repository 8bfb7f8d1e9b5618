"""Pairs of students whose graded code is unusually alike, for the class report.

Each graded definition is reduced to its tokens, with docstrings and comments dropped and
its own names (arguments and the variables it assigns) renamed in order of first
appearance (``v0``, ``v1``, ...), so that renaming variables or reformatting hides nothing. Two definitions are compared by the share of
token 4-grams they have in common (Jaccard). Short definitions say nothing (there are
only so many ways to write ``return float(np.dot(x, w))``), and neither does the common
answer: a form that several students reached on their own, or that the course's own
solution has, is not a sign of copying. What is left, a pair alike beyond
``ALIKE`` in a definition of at least ``MIN_TOKENS`` tokens, is listed for a human to look
at, with both pieces of code side by side. It reports; it never scores.
"""
import ast
import itertools
import tokenize
from collections import Counter

from coursetools.grade.batch import tampering

ALIKE = 0.9
MIN_TOKENS = 40
COMMON = 3              # a normalised form this many students share is the common answer
SHINGLE = 4


def normalised(source, name):
    """The tokens of the definition of ``name`` in ``source``, its own names renamed, or None."""
    try:
        found = tampering.definition(ast.parse(source), name)
        tokens = tampering.code_tokens(found) if found is not None else None
    except (SyntaxError, ValueError, tokenize.TokenError, IndentationError):
        return None
    if tokens is None:
        return None
    own = {a.arg for a in ast.walk(found) if isinstance(a, ast.arg)}
    own |= {n.id for n in ast.walk(found) if isinstance(n, ast.Name)
            and isinstance(n.ctx, (ast.Store, ast.Del))}
    renamed, result = {}, []
    for token in tokens:       # a string or number token is never one of the names
        if token in own and result[-1:] != ["."]:
            token = renamed.setdefault(token, f"v{len(renamed)}")
        result.append(token)
    return tuple(result)


def _shingles(tokens):
    return {tokens[i:i + SHINGLE] for i in range(max(1, len(tokens) - SHINGLE + 1))}


def jaccard(a, b):
    return len(a & b) / len(a | b) if a or b else 0.0


def alike_pairs(sources, name, reference=None):
    """[(similarity, student a, student b)] of the pairs of ``sources`` ({student: answer
    cell source}) whose definitions of ``name`` are alike beyond ALIKE, most alike first;
    the common answer (see the module doc) and ``reference``'s own form excepted."""
    forms = {s: normalised(src, name) for s, src in sources.items()}
    forms = {s: f for s, f in forms.items() if f is not None and len(f) >= MIN_TOKENS}
    counts = Counter(forms.values())
    ordinary = {f for f, n in counts.items() if n >= COMMON}
    reference_form = normalised(reference, name) if reference else None
    shingles = {s: _shingles(f) for s, f in forms.items()}
    reference_shingles = _shingles(reference_form) if reference_form else set()
    pairs = []
    for a, b in itertools.combinations(sorted(forms), 2):
        if forms[a] in ordinary or forms[b] in ordinary:
            continue
        if reference_shingles and min(jaccard(shingles[a], reference_shingles),
                                      jaccard(shingles[b], reference_shingles)) >= ALIKE:
            continue
        similarity = jaccard(shingles[a], shingles[b])
        if similarity >= ALIKE:
            pairs.append((similarity, a, b))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return pairs

"""The class report `course grade` writes after every batch: what the checks diagnosed.

The checks name the likely bug of a wrong answer ("the bias is missing", "off by the
batch size"). Counted over a class, those diagnoses say what to teach again.
``report.html`` (one page, its figures inline SVG, readable with no network) shows,
per graded function, the share of students whose function passed and the most common
diagnosed mistakes; a histogram of the scores; a "what to re-teach" list ranked by the
points each mistake cost the class; the submissions that could not be graded or ran
out of time; pairs of students whose graded code is unusually alike
(``coursetools.grade.batch.similarity``), side by side; and the integrity findings. ``report.csv``
holds the mistakes as data.
Everything a student wrote is escaped.
"""
import csv
import html
import re
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import nbformat

from coursetools.curriculum import graded_name, part_of
from coursetools.grade.batch import plain, similarity
from coursetools.grade.batch.record import MISSING
from coursetools.grade.batch.tampering import NEAR_COPY

HTML, CSV = "report.html", "report.csv"
NOT_ATTEMPTED = "not attempted: the exercise's stub is still there"
OUT_OF_TIME = "ran out of time (an endless or very slow loop)"
NOT_RUN = "not run: the kernel had stopped at an earlier cell"
NO_DIAGNOSIS = "a wrong answer the checks do not recognise"
MAX_SOURCE = 20_000     # characters of an answer cell read
MAX_SHOWN = 4_000       # characters of it shown beside another
MAX_PAIRS = 50
_LIKELY = re.compile(r"Likely bug:\s*(.+?)(?:\.(?:\s|$)|$)", re.S)
_RAISED = re.compile(r"\braised ([A-Za-z_][\w.]*)")


def diagnosis(message):
    """A failed check's message reduced to the mistake it names, shared by every student
    who made it (no inputs, values or student-written text)."""
    text = str(message)
    found = _LIKELY.search(text)
    if found:
        return " ".join(found.group(1).split())[:200]
    if "not implemented yet" in text or "NotImplementedError" in text:
        return NOT_ATTEMPTED
    if "in time" in text or "time limit" in text or "KernelGone" in text:
        return OUT_OF_TIME
    if "kernel had stopped" in text:
        return NOT_RUN
    raised = _RAISED.search(text)
    if raised:
        return f"raises {raised.group(1)[:60]}"
    return NO_DIAGNOSIS


def read_graded(notebook_path):
    """({test cell id: its first error message}, {answer cell id: its source}) of one
    graded notebook; nothing of a notebook that cannot be read."""
    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception:       # noqa: BLE001  an unreadable notebook has no diagnoses
        return {}, {}
    failed, answers = {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = str(meta.get("grade_id", ""))
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id.startswith("test_") and errors:
            failed[grade_id] = f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}"
        elif meta.get("solution") and cell.cell_type == "code":
            answers[grade_id] = cell.source[:MAX_SOURCE]
    return failed, answers


def class_work(workdir, assignment, results, cell_max):
    """What the graded notebooks of ``results`` hold: {test id: {diagnosis: [students]}},
    {(test id, diagnosis): points lost}, and {answer cell id: {student: source}}."""
    who, lost = defaultdict(lambda: defaultdict(list)), Counter()
    sources = defaultdict(dict)
    for r in results:
        if r.status != "graded":
            continue
        path = Path(workdir) / "autograded" / r.student / assignment / f"{assignment}.ipynb"
        failed, answers = read_graded(path)
        for test, message in failed.items():
            if test not in cell_max:
                continue
            found = diagnosis(message)
            who[test][found].append(r.student)
            lost[test, found] += cell_max[test] - r.cells.get(test, 0.0)
        for name, source in answers.items():
            sources[name][r.student] = source
    return who, lost, sources


def write(workdir, assignment, results, cell_max, references=None):
    """report.html and report.csv in ``workdir`` for ``results`` (the whole class);
    ``references`` ({graded name: the solution's answer cell}) is the common answer the
    similarity section leaves out."""
    workdir = Path(workdir)
    who, lost, sources = class_work(workdir, assignment, results, cell_max)
    references = references or {}
    pairs = [(similar, name, a, b) for name in sorted(references)
             for similar, a, b in similarity.alike_pairs(sources.get(name, {}), name,
                                                         references[name])]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2], p[3]))
    _write_csv(workdir / CSV, who, lost)
    (workdir / HTML).write_text(_page(assignment, results, cell_max, who, lost,
                                      (pairs[:MAX_PAIRS], sources)), encoding="utf-8")


def _write_csv(path, who, lost):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["function", "mistake", "students", "points_lost"])
        for (test, found), points in sorted(lost.items(), key=lambda kv: (-kv[1], kv[0])):
            writer.writerow([plain.csv_cell(_function(test)), plain.csv_cell(found),
                             len(who[test][found]), f"{points:g}"])


def _function(test):
    """What a test cell checks, as the report names it: ``Value`` or ``Value (engine)``."""
    return graded_name(test) + (f" ({part_of(test)})" if part_of(test) else "")


def _reteach(who, lost, limit=10):
    """The diagnosed mistakes (not the unattempted or timed-out ones) that cost most."""
    plainly_named = {NOT_ATTEMPTED, OUT_OF_TIME, NOT_RUN}
    ranked = [(points, test, found) for (test, found), points in lost.items()
              if found not in plainly_named]
    ranked.sort(key=lambda item: (-item[0], -len(who[item[1]][item[2]]), item[1]))
    return ranked[:limit]


# -------------------------------------------------------------------- the page

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #e4e4e4;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;white-space:nowrap}.muted{color:#666}ol li{margin:.3rem 0}
svg text{font-size:11px;font-family:system-ui,sans-serif}
.pair{display:flex;gap:1rem}.pair pre{flex:1;background:#f7f7f7;padding:.5rem;overflow:auto}
"""


def _page(assignment, results, cell_max, who, lost, alike):
    graded = [r for r in results if r.status == "graded"]
    missing = [r for r in results if r.status == MISSING]
    failed = [r for r in results if r.status not in ("graded", MISSING)]
    total = sum(cell_max.values())
    scores = [r.score for r in graded]
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{e(assignment)}: class report</title><style>{_STYLE}</style></head><body>",
             f"<h1>{e(assignment)}: class report</h1>",
             f"<p>{len(graded) + len(failed)} submission(s): {len(graded)} graded, {len(failed)} "
             "could not be graded"
             + (f"; {len(missing)} student(s) on the roster handed in nothing" if missing else "")
             + (f"; mean score {statistics.mean(scores):.1f} and median "
                f"{statistics.median(scores):g} of {total:g}" if scores else "")
             + f". Written {datetime.now():%Y-%m-%d %H:%M}.</p>"]
    parts += ["<h2>What to re-teach</h2>", _reteach_list(who, lost)]
    parts += ["<h2>Scores</h2>", _histogram(scores, total)]
    parts += ["<h2>Each function</h2>", _functions_table(graded, cell_max, who)]
    parts += ["<h2>Could not be graded, or ran out of time</h2>",
              _trouble(failed, who)]
    parts += ["<h2>Unusually similar code</h2>", _alike(*alike), _reference_copies(results, alike[1])]
    parts += ["<h2>Integrity findings</h2>", _integrity(results), "</body></html>"]
    return "\n".join(parts)


def _reteach_list(who, lost):
    ranked = _reteach(who, lost)
    if not ranked:
        return "<p>No diagnosed mistake cost anyone points.</p>"
    items = [f"<li><b>{html.escape(_function(test))}</b>: {html.escape(found)} "
             f"<span class='muted'>({len(who[test][found])} student(s), {points:g} "
             "point(s) in all)</span></li>" for points, test, found in ranked]
    return ("<p>The mistakes the checks recognised, ranked by the points they cost the "
            "class.</p><ol>" + "".join(items) + "</ol>")


def _histogram(scores, total, width=560, height=160):
    """Students per score (bins of one point, or of total/20 for large totals), as SVG."""
    if not scores:
        return "<p>No graded submission.</p>"
    step = max(1.0, total / 20)
    bins = Counter(min(int(s // step), int(total // step)) for s in scores)
    count = int(total // step) + 1
    tallest = max(bins.values())
    bar = (width - 40) / count
    rects = []
    for k in range(count):
        h = (height - 40) * bins.get(k, 0) / tallest
        x, y = 30 + k * bar, height - 20 - h
        label = f"{k * step:g}" if step == 1 else f"{k * step:.0f}+"
        rects.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar - 2:.1f}' height='{h:.1f}' "
                     f"fill='#4c78a8'><title>{label}: {bins.get(k, 0)}</title></rect>"
                     f"<text x='{x + bar / 2:.1f}' y='{height - 6}' text-anchor='middle'>"
                     f"{label}</text>"
                     + (f"<text x='{x + bar / 2:.1f}' y='{y - 3:.1f}' text-anchor='middle'>"
                        f"{bins[k]}</text>" if bins.get(k) else ""))
    return (f"<svg width='{width}' height='{height}' role='img' aria-label='students per "
            f"score'>{''.join(rects)}</svg><p class='muted'>Students per score, out of "
            f"{total:g} points.</p>")


def _share_bar(share, width=120):
    return (f"<svg width='{width}' height='12' role='img' aria-label='{share:.0%} passed'>"
            f"<rect width='{width}' height='12' fill='#e4e4e4'/><rect width='{width * share:.1f}' "
            f"height='12' fill='#59a14f'/></svg> {share:.0%}")


def _functions_table(graded, cell_max, who):
    rows = []
    for test, points in cell_max.items():
        full = sum(1 for r in graded if r.cells.get(test, 0.0) >= points)
        share = full / len(graded) if graded else 0.0
        common = sorted(who.get(test, {}).items(), key=lambda kv: (-len(kv[1]), kv[0]))[:3]
        listed = "<br>".join(f"{html.escape(found)} <span class='muted'>({len(names)})</span>"
                             for found, names in common) or "<span class='muted'>none</span>"
        rows.append(f"<tr><td>{html.escape(_function(test))}</td><td class='n'>{points:g}</td>"
                    f"<td>{_share_bar(share)}</td><td>{listed}</td></tr>")
    return ("<table><tr><th>function</th><th>points</th><th>full marks</th>"
            "<th>most common mistakes (students)</th></tr>" + "".join(rows) + "</table>")


def _trouble(failed, who):
    lines = [f"<li>{html.escape(r.student)}: could not be graded: {html.escape(r.reason)}</li>"
             for r in failed]
    for test, found in sorted(who.items()):
        for name in found.get(OUT_OF_TIME, []):
            lines.append(f"<li>{html.escape(name)}: {html.escape(_function(test))} ran out of "
                         "time</li>")
    return f"<ul>{''.join(lines)}</ul>" if lines else "<p>None.</p>"


def _alike(pairs, sources):
    if not pairs:
        return ("<p>No pair of submissions is unusually alike (beyond the common answers, "
                f"in definitions of at least {similarity.MIN_TOKENS} tokens).</p>")
    e = html.escape
    items = [f"<details><summary>{e(a)} and {e(b)}: <code>{e(name)}</code>, {share:.0%} alike"
             "</summary><div class='pair'>"
             f"<pre>{e(sources[name][a][:MAX_SHOWN])}</pre><pre>{e(sources[name][b][:MAX_SHOWN])}"
             "</pre></div></details>" for share, name, a, b in pairs]
    return ("<p>Pairs whose graded code is alike token for token after renaming variables, "
            "beyond the answers several students reached on their own and the course's own "
            "solution: for you to look at, never a verdict by itself.</p>" + "".join(items))


def _reference_copies(results, sources):
    """Answers the integrity scan found to be nnlib's own code (tampering.copies_of_reference),
    each beside nnlib's."""
    import inspect

    import nnlib
    items = []
    for r in results:
        for name, what in r.integrity:
            if NEAR_COPY not in what or r.student not in sources.get(name, {}):
                continue
            try:
                theirs = inspect.getsource(getattr(nnlib, name))
            except (AttributeError, OSError, TypeError):
                continue
            items.append(f"<details><summary>{html.escape(r.student)}: <code>{html.escape(name)}"
                         f"</code> and nnlib's</summary><div class='pair'><pre>"
                         f"{html.escape(sources[name][r.student][:MAX_SHOWN])}</pre><pre>"
                         f"{html.escape(theirs[:MAX_SHOWN])}</pre></div></details>")
    if not items:
        return ""
    return ("<p>Answers that are nnlib's own code, pasted (the student's on the left):</p>"
            + "".join(items))


def _integrity(results):
    rows = [f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(cell)}</td>"
            f"<td>{html.escape(what)}</td></tr>"
            for r in results for cell, what in r.integrity]
    if not rows:
        return "<p>None.</p>"
    return ("<p>Reported, not scored: what a submission did that an honest one does not.</p>"
            "<table><tr><th>student</th><th>cell</th><th>what</th></tr>" + "".join(rows)
            + "</table>")

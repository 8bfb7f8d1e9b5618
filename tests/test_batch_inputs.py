"""What a class hands `course grade` is data, never markup or a path to follow: student
ids, links, zip members, CSV cells, console lines, feedback pages, notebook sizes."""
import csv
import io
import os
import re
import signal
import stat
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from coursetools.grade.batch import autograde, plain, record, submissions, tampering
from coursetools.grade.batch.submissions import collect, read_notebook
from coursetools.grade.worker import slots
from coursetools.grade.worker.feedback import FeedbackExporter
from nbtools import ROOT

NOTEBOOK = nbformat.writes(new_notebook())


# ------------------------------------------------------------------ submissions

def test_ids_that_collide_are_refused_naming_both_files(tmp_path):
    (tmp_path / "ann!.ipynb").write_text(NOTEBOOK)
    (tmp_path / "ann.ipynb").write_text(NOTEBOOK)
    (tmp_path / "bob.ipynb").write_text(NOTEBOOK)
    found = collect(tmp_path, "01_dot_product", tmp_path / "scratch")
    assert sorted(found) == ["ann", "bob"]
    assert isinstance(found["ann"], str)
    assert "'ann!.ipynb'" in found["ann"] and "'ann.ipynb'" in found["ann"]
    assert "same student id 'ann'" in found["ann"]
    assert found["bob"].name == "bob.ipynb"


def test_a_zip_whose_names_collide_refuses_both(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ann lee.ipynb", NOTEBOOK)
        zf.writestr("ann_lee.ipynb", NOTEBOOK)
    found = collect(archive, "01_dot_product", tmp_path / "scratch")
    assert list(found) == ["ann_lee"]
    assert "'ann lee.ipynb' and 'ann_lee.ipynb'" in found["ann_lee"]


def test_symbolic_links_are_refused_not_followed(tmp_path):
    secret = tmp_path / "solutions.ipynb"
    secret.write_text(NOTEBOOK)
    (tmp_path / "class" / "cy" / "work").mkdir(parents=True)
    (tmp_path / "class" / "ann.ipynb").symlink_to(secret)
    (tmp_path / "class" / "bob").symlink_to(tmp_path / "class" / "cy")
    (tmp_path / "class" / "cy" / "work" / "01_dot_product.ipynb").symlink_to(secret)
    (tmp_path / "class" / "dee.ipynb").write_text(NOTEBOOK)
    found = collect(tmp_path / "class", "01_dot_product", tmp_path / "scratch")
    for student in ("ann", "bob", "cy"):
        assert isinstance(found[student], str) and "symbolic link" in found[student], student
    assert found["dee"].name == "dee.ipynb"


def test_every_top_level_file_gets_a_row(tmp_path):
    (tmp_path / "gus.pdf").write_text("%PDF")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "ann.ipynb").write_text(NOTEBOOK)
    (tmp_path / "ann.pdf").write_text("%PDF")       # beside a notebook: takes nothing from it
    found = collect(tmp_path, "01_dot_product", tmp_path / "scratch")
    assert sorted(found) == ["ann", "gus", "notes"]
    assert found["gus"] == ("gus.pdf is not a notebook (a submission is a .ipynb file, or a "
                            "folder holding one)")
    assert "notes.txt is not a notebook" in found["notes"]
    assert found["ann"].name == "ann.ipynb"


def test_a_bad_zip_member_fails_its_student_only(tmp_path):
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.ipynb", NOTEBOOK)
        zf.writestr("eve/../../../escape.ipynb", NOTEBOOK)
        link = zipfile.ZipInfo("fay/01_dot_product.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/shadow")
        zf.writestr("ann/01_dot_product.ipynb", NOTEBOOK)
    found = collect(archive, "01_dot_product", tmp_path / "scratch")
    assert found["ann"].name == "01_dot_product.ipynb"
    assert "'../outside.ipynb' points outside the archive" in found["outside"]
    assert "points outside the archive" in found["eve"]
    assert "'fay/01_dot_product.ipynb' is a symbolic link" in found["fay"]
    assert not (tmp_path / "outside.ipynb").exists() and not (tmp_path / "escape.ipynb").exists()


def test_a_zip_member_over_the_size_limit_fails_its_student_only(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_MEMBER_BYTES", 1000)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bob/01_dot_product.ipynb", " " * 5000)
        zf.writestr("ann/01_dot_product.ipynb", NOTEBOOK)
    found = collect(archive, "01_dot_product", tmp_path / "scratch")
    assert "over the 0 MB a file may be" in found["bob"] or "MB a file may be" in found["bob"]
    assert found["ann"].name == "01_dot_product.ipynb"


def test_a_notebook_over_the_size_limit_fails_before_it_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_NOTEBOOK_BYTES", 2 ** 20)
    big = tmp_path / "big.ipynb"
    big.write_text('{"cells": [' + " " * (2 ** 20 + 1))     # not even JSON: never read
    assert read_notebook(big).startswith("the notebook is 1.0 MB, over the 1 MB")
    fine = tmp_path / "fine.ipynb"
    fine.write_text(NOTEBOOK)
    assert read_notebook(fine).cells == []


def test_the_integrity_report_reads_a_bounded_part_of_a_huge_cell():
    huge = new_code_cell("x = 1\n" * (tampering.MAX_SOURCE_READ // 6 + 10))
    found = tampering.reaches(new_notebook(cells=[huge]), new_notebook())
    assert found == [("cell 0", f"a code cell of {len(huge.source):,} characters "
                                "(not read further)")]


# --------------------------------------------------------------- what it writes

def test_csv_cells_never_start_a_formula():
    for evil in ("=HYPERLINK(\"http://x\")", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"):
        assert plain.csv_cell(evil).startswith("'"), evil
    assert plain.csv_cell("ann") == "ann"
    assert plain.csv_cell("a \x1b[31mred\x1b[0m") == "a [31mred[0m"
    assert submissions.student_id("=cmd|'/C calc'!A0") == "cmd_C_calc_A0"
    assert submissions.student_id("@ann") == "ann"


def test_integrity_and_grades_csv_are_safe_for_spreadsheets(tmp_path):
    tampering.write_csv(tmp_path / "integrity.csv", {"ann": [("=HYPERLINK(1)", "+evil")]})
    rows = list(csv.reader(io.StringIO((tmp_path / "integrity.csv").read_text())))
    assert rows[1] == ["ann", "'=HYPERLINK(1)", "'+evil"]
    result = autograde.Result("ann", status="failed", reason="=1+1")
    record.write(tmp_path, [result], {"-test": 1})
    rows = list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert rows[0][4] == "'-test" and rows[1][-1] == "'=1+1"
    assert record.read_grades(tmp_path / "grades.csv")["ann"]["reason"] == "=1+1"   # read back


def test_the_console_prints_no_control_characters():
    lines = []
    out = plain.printable_lines(lines.append)
    out("ann: \x1b[2J\x1b]0;owned\x07FAILED\rdone\ttab")
    out("\nDone: 1 graded")
    assert lines == ["ann: [2J]0;ownedFAILEDdone tab", "\nDone: 1 graded"]


# ------------------------------------------------------------------ feedback

def _feedback_page(nb):
    from test_grading_shortcuts import _config
    page, _ = FeedbackExporter(config=_config()).from_notebook_node(
        nb, {"metadata": {"name": "chapter"},
             "nbgrader": {"notebook": "chapter", "score": 1, "max_score": 2, "late_penalty": 0}})
    return page


def test_feedback_pages_show_student_markup_as_text():
    benign = _feedback_page(new_notebook(cells=[new_markdown_cell("# Title")]))
    evil = "<script>alert('md')</script><img src=x onerror=alert(1)><a href='javascript:x'>l</a>"
    nb = new_notebook(cells=[
        new_markdown_cell("# Title\n" + evil),
        new_raw_cell("<script>alert('raw')</script>", metadata={"format": "text/html"}),
        new_code_cell("show()", outputs=[
            new_output("display_data", {"text/html": "<script>alert('out')</script>",
                                        "text/plain": "<IPython.core.display.HTML object>"}),
            new_output("display_data", {"text/html": "<b>bold</b><script>alert(2)</script>"}),
            new_output("display_data", {"application/javascript": "alert('js')"}),
            new_output("display_data", {"image/svg+xml": "<svg onload='alert(3)'></svg>"})]),
    ])
    page = _feedback_page(nb)
    assert page.count("<script") == benign.count("<script")      # the template's own only
    assert "onerror" not in page.replace("onerror=alert(1)&gt;", "")
    assert "javascript:x" not in page and "onload" not in page and "alert('js')" not in page
    assert "&lt;script&gt;alert(&#39;md&#39;)" in page or "&lt;script&gt;alert('md')" in page
    assert "&lt;IPython.core.display.HTML object&gt;" in page
    assert "<b>bold</b>" in page
    assert "not shown" in page


def test_feedback_names_each_test_cell_by_its_function_and_wraps_the_messages():
    message = "dense(array (4, 3), ...) is wrong. Likely bug: " + "the bias is missing " * 20
    test = new_code_cell("grading.check_dense(dense)", outputs=[
        new_output("error", ename="GradingError", evalue=message, traceback=[message])])
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_dense", "points": 2,
                                 "score": 0, "solution": False, "locked": True}
    cells = [test]
    for grade_id, points, score in [("test_relu", 1, 1), ("test_fit", 3, 1.5),
                                    ("test_Value-engine", 1, 0)]:
        cells.append(new_code_cell("...", metadata={"nbgrader": {
            "grade": True, "grade_id": grade_id, "points": points, "score": score,
            "solution": False, "locked": True}}))
    page = _feedback_page(new_notebook(cells=cells))
    assert ">Test cell<" not in page
    from bs4 import BeautifulSoup
    table = BeautifulSoup(page, "html.parser").find("table", class_="points")
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in table.tbody.find_all("tr")]
    assert rows == [["Checks of dense", "0", "2", "no points"],
                    ["Checks of relu", "1", "1", "full marks"],
                    ["Checks of fit", "1.5", "3", "some points"],
                    ["Checks of Value, engine", "0", "1", "no points"]]
    assert '<a href="#test_dense">Checks of <code>dense</code></a>' in str(table)
    head = page[:page.index("</head>")]
    assert "white-space:pre-wrap" in head


def test_a_failed_checks_whole_message_shows_at_desktop_and_phone_width(tmp_path):
    from browser import find_chromium, message_shown_whole
    message = ("dense(array (4, 3), ...) is wrong at entry [2, 1]: 0.31 where 0.42 is right. "
               "Likely bug: the bias is added to the wrong axis (b has shape (3,), one per unit)")
    test = new_code_cell("grading.check_dense(dense)", outputs=[
        new_output("error", ename="GradingError", evalue=message, traceback=[message])])
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "test_dense", "points": 2,
                                 "score": 0, "solution": False, "locked": True}
    (tmp_path / "chapter.html").write_text(_feedback_page(new_notebook(cells=[test])),
                                           encoding="utf-8")
    if find_chromium() is None and not os.environ.get("COURSE_BROWSER_REQUIRED"):
        pytest.skip("no Chromium to open the page with (Debian/Ubuntu: apt install chromium)")
    assert message_shown_whole(tmp_path, "chapter.html", "one per unit") == {1280: True,
                                                                            390: True}


def test_feedback_pages_typeset_their_formulas_with_no_network(tmp_path):
    """The page loads the MathJax beside it (feedback.ship_mathjax), hard-linked from the copy
    the website ships, and Chromium typesets its formulas with every request outside refused."""
    from browser import find_chromium, typeset_formulas
    from coursetools.grade.worker.feedback import mathjax_source, ship_mathjax
    page = _feedback_page(new_notebook(cells=[
        new_markdown_cell("Inline $x^2 + 1$ and displayed:\n\n$$\\sigma(z) = \\frac{1}{1 + e^{-z}}$$")]))
    assert 'src="mathjax/tex-chtml.js"' in page and "cdnjs" not in page
    for student in ("ann", "bob"):
        folder = tmp_path / student
        folder.mkdir()
        (folder / "chapter.html").write_text(page, encoding="utf-8")
        ship_mathjax(folder)
    shipped = tmp_path / "ann" / "mathjax" / "tex-chtml.js"
    assert shipped.read_bytes() == (mathjax_source() / "tex-chtml.js").read_bytes()
    assert os.path.samefile(shipped, tmp_path / "bob" / "mathjax" / "tex-chtml.js")  # one copy
    if find_chromium() is None and not os.environ.get("COURSE_BROWSER_REQUIRED"):
        pytest.skip("no Chromium to open the page with (Debian/Ubuntu: apt install chromium)")
    typeset, asked = typeset_formulas(tmp_path / "ann", "chapter.html")
    assert typeset == 2 and asked == []


def test_a_slot_that_crashes_is_reported_as_a_crash_not_a_timeout(tmp_path):
    slot = slots.Slot(0, tmp_path)
    try:
        assert slot.run(["--version"], tmp_path / "version.log", 60) == 0
        slot.process.kill()          # as a grader that segfaults on a reply dies
        code = slot.run(["--version"], tmp_path / "again.log", 60)
    finally:
        slot.close()
    assert isinstance(code, slots.Stopped)
    assert "crashed (killed by SIGKILL)" in code and "longer than" not in code


def test_a_slot_past_its_time_is_reported_as_a_timeout(tmp_path):
    slot = slots.Slot(0, tmp_path)
    try:
        assert slot.run(["--version"], tmp_path / "version.log", 60) == 0
        os.kill(slot.process.pid, signal.SIGSTOP)      # alive, but never answers
        code = slot.run(["--version"], tmp_path / "again.log", 0.5)
    finally:
        slot.close()
    assert isinstance(code, slots.Stopped)
    assert code == "grading took longer than 0.5 s and was stopped"


# ------------------------------------------------------------- instructor mistakes

def test_an_empty_folder_says_what_was_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no submissions found in .*empty: expected "
                                         r"<student>\.ipynb files, or one folder per student"):
        autograde.grade_class(ROOT, "01_dot_product", tmp_path / "empty", tmp_path / "course",
                              sandbox=False, out=lambda line: None)
    assert not (tmp_path / "course" / "gradebook.db").exists(), "nothing was prepared"


def test_a_notebook_of_another_chapter_is_named_as_such():
    from nbtools import chapter_path, read
    seventh = read(chapter_path("07_train_loop"))
    assert submissions.belongs_to(seventh, "01_dot_product") == "07_train_loop"
    assert submissions.belongs_to(seventh, "07_train_loop") is None
    assert submissions.belongs_to(new_notebook(), "01_dot_product") is None


def test_a_sandbox_that_cannot_have_a_user_of_its_own_says_why(monkeypatch):
    from coursetools.grade.sandbox import bubblewrap as sandbox

    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(sandbox.Sandbox, "_free_uid", lambda self, slot: 61999)
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sandbox.os, "chown", refused)
    with pytest.raises(sandbox.SandboxUnavailable, match="could not be handed to its own user "
                                                         r"\(Operation not permitted\)"):
        sandbox.check_available()
    assert "user namespaces are switched off" in sandbox._cause(
        "bwrap: setting up uid map: Permission denied")
    assert sandbox._cause("bwrap: something else") == ""


# ------------------------------------------------------------------ the roster

def test_a_roster_names_the_students_and_says_what_is_wrong_with_it(tmp_path):
    from coursetools.grade.batch import roster
    good = tmp_path / "roster.csv"
    good.write_text("\ufeffStudent_ID,first_name,last_name,email,section\n"
                    "Ann Lee,Ann,Lee,ann@example.org,A\nbob,,,,B\n", encoding="utf-8")
    assert roster.read(good) == {
        "Ann_Lee": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.org"},
        "bob": {"first_name": "", "last_name": "", "email": ""}}
    for text, words in [("name,email\nann,a@x\n", "no id column"),
                        ("id,first_name\nann,A\n,B\n", "no id on line 3"),
                        ("id\nann\nAnn\nann\n", "the id 'ann' twice (lines 2 and 4)")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=re.escape(words)):
            roster.read(bad)
    with pytest.raises(ValueError, match="cannot read the roster"):
        roster.read(tmp_path / "none.csv")

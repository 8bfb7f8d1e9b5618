"""Unit tests of the instructor tools: collecting submissions, tags and tracebacks, integrity."""

import nbformat
import pytest

from coursetools.curriculum import CURRICULUM
from coursetools.grade.batch import autograde
from coursetools.grade.batch.autograde import Integrity
from coursetools.grade.batch.submissions import collect, student_id
from coursetools.preprocessors import ShortTracebacks, StripCellTags


def test_tags_are_stripped_and_tracebacks_shortened():
    cell = nbformat.v4.new_code_cell("x")
    cell.metadata["tags"] = ["skip-execution"]
    cell.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="name 'x'",
                                           traceback=["line 1", "### BEGIN HIDDEN TESTS"])]
    cell = StripCellTags().preprocess_cell(cell, {}, 0)[0]
    cell = ShortTracebacks().preprocess_cell(cell, {}, 0)[0]
    assert "tags" not in cell.metadata
    assert cell.outputs[0].traceback == ["NameError: name 'x'"]


def test_student_ids_are_cleaned():
    assert student_id("Ann Lee (2)") == "Ann_Lee_2"
    assert student_id("../../etc") == "etc"
    assert student_id("...") == "unnamed"


def test_collect_understands_every_layout(tmp_path):
    nb = nbformat.writes(nbformat.v4.new_notebook())
    (tmp_path / "flat.ipynb").write_text(nb)
    (tmp_path / "ann" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "ann" / "deep" / "er" / "01_dot_product.ipynb").write_text(nb)
    (tmp_path / "ann" / "scratch.ipynb").write_text(nb)
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "my work.ipynb").write_text(nb)
    (tmp_path / "cy").mkdir()
    (tmp_path / "dee").mkdir()
    (tmp_path / "dee" / "a.ipynb").write_text(nb)
    (tmp_path / "dee" / "b.ipynb").write_text(nb)
    (tmp_path / ".hidden").mkdir()
    found = collect(tmp_path, "01_dot_product", tmp_path / "scratch")
    assert found["flat"].name == "flat.ipynb"
    assert found["ann"].name == "01_dot_product.ipynb"
    assert found["bob"].name == "my work.ipynb"
    assert found["cy"] == "no notebook in the submission"
    assert "2 notebooks" in found["dee"]
    assert ".hidden" not in found and "scratch" not in found


def test_integrity_restores_changed_added_and_deleted_files(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.setattr(autograde, "_site_folders", lambda: [str(site)])
    repo, work = tmp_path / "repo", tmp_path / "work"
    (repo / "nnlib" / "grading").mkdir(parents=True)
    (repo / "coursetools").mkdir()
    (repo / "solutions" / "01_x").mkdir(parents=True)
    work.mkdir()
    check = repo / "nnlib" / "grading" / "core.py"
    check.write_text("strict = True\n")
    (repo / "nnlib" / "__init__.py").write_text("")
    (repo / "nbgrader_config.py").write_text("c = 1\n")
    (work / "nbgrader_config.py").write_text("c = 2\n")
    integrity = Integrity(repo, work)
    assert integrity.restore() is False

    check.write_text("strict = False\n")
    (repo / "nnlib" / "__init__.py").unlink()
    (site / "evil.pth").write_text("import os\n")
    (work / "nbgrader_config.py").write_text("c = 3\n")
    assert integrity.restore() is True
    assert check.read_text() == "strict = True\n"
    assert (repo / "nnlib" / "__init__.py").exists()
    assert not (site / "evil.pth").exists()
    assert (work / "nbgrader_config.py").read_text() == "c = 2\n"
    assert integrity.restore() is False


def test_cli_names_unknown_assignments_and_missing_submissions(capsys, tmp_path):
    from coursetools.cli import main
    with pytest.raises(SystemExit):
        main(["grade", "99_nope", str(tmp_path)])
    assert "unknown assignment '99_nope'; choose from 01_dot_product" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["generate", "99_nope"])
    assert "unknown assignment(s): 99_nope" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["grade", "01_dot_product", str(tmp_path / "missing.zip")])
    assert "missing.zip does not exist" in capsys.readouterr().err
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nann,a@example.org\n")
    assert main(["grade", "01_dot_product", str(tmp_path), "--roster", str(roster),
                 "--out", str(tmp_path / "out")]) == 2
    assert "roster.csv has no id column" in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing was graded"


def test_course_grade_refuses_to_run_without_a_sandbox(monkeypatch, tmp_path):
    from coursetools.grade.sandbox import bubblewrap as sandbox
    from nbtools import ROOT
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="--unsafe-no-sandbox"):
        autograde.grade_class(ROOT, "01_dot_product", tmp_path, tmp_path / "course")
    assert not (tmp_path / "course").exists(), "nothing was graded"


def test_the_sandbox_keeps_student_code_in_its_scratch_folder(tmp_path):
    """A sandboxed Python sees no home folder, no repository beyond nnlib, no network, and
    writes only its scratch folder."""
    import socket
    import subprocess
    import sys
    from coursetools.grade.sandbox.bubblewrap import Sandbox
    from nbtools import ROOT
    secret = tmp_path / "other-submission.ipynb"
    secret.write_text("{}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    hidden = [str(p) for p in (secret, ROOT / "solutions", ROOT / ".git", ROOT / "README.md")]
    port = listener.getsockname()[1]
    probe = f"""
import os, socket
seen = []
for path in {hidden!r}:
    seen.append(os.path.exists(path))
for path in [{str(ROOT / 'nnlib' / 'x.py')!r}, '/usr/x', '/etc/x']:
    try:
        open(path, 'w'); seen.append(True)
    except OSError:
        seen.append(False)
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    seen.append(True)
except OSError:
    seen.append(False)
open('mine.txt', 'w').write('fine')
import nnlib
print(seen, os.getuid() != 0)
"""
    box = Sandbox(tmp_path / "scratch").prepare()
    try:
        done = subprocess.run(box.command([sys.executable, "-c", probe]), capture_output=True,
                              text=True, timeout=60, cwd=tmp_path / "scratch")
        listener.close()
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{[False] * 8} True"
        assert (tmp_path / "scratch" / "mine.txt").read_text() == "fine"
    finally:
        box.close()


@pytest.mark.parametrize("assignment", __import__("nbtools").ASSIGNMENTS)
def test_honest_work_is_not_reported_as_tampering(assignment):
    from coursetools.grade.batch import tampering
    from nbtools import chapter_path, read
    from test_autograde import _solution_bodies, _submission
    release = read(chapter_path(assignment))
    for answers in ({}, _solution_bodies(assignment)):
        submitted = _submission(assignment, answers)
        assert tampering.structure(submitted, release) == []
        assert tampering.reaches(submitted, release) == []
        assert tampering.copies_of_reference(submitted, CURRICULUM[assignment]) == []


def test_nnlib_s_own_code_pasted_as_an_answer_is_named():
    import inspect

    import nnlib
    from coursetools.grade.batch import tampering
    from test_autograde import _solution_bodies, _submission
    submitted = _submission("01_dot_product", _solution_bodies("01_dot_product"))
    for cell in submitted.cells:                     # the def itself, as nnlib has it
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "dense":
            cell.source = ("import numpy as np\nfrom nnlib._validate import as_float_array\n"
                           + inspect.getsource(nnlib.dense))
    found = tampering.copies_of_reference(submitted, CURRICULUM["01_dot_product"])
    assert found == [("dense", "dense is nearly identical to nnlib's reference (100% alike, "
                               "token for token): pasted, not written")]


def test_a_slot_checks_nbgrader_s_metadata_schema_once_with_the_same_verdicts():
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator

    from coursetools.grade.worker.slots import _SchemaChecks
    schema, checks = MetadataValidator().schema, _SchemaChecks()
    good = {"grade": True, "grade_id": "test_dot", "locked": True, "points": 1,
            "schema_version": 3, "solution": False, "task": False}
    for metadata in (good, {**good, "points": "one"}, {**good, "grade": "yes"},
                     {k: v for k, v in good.items() if k != "grade_id"}):
        try:
            jsonschema.validate(metadata, schema)
            expected = None
        except jsonschema.ValidationError as error:
            expected = error.message
        for _ in range(2):               # the second time from the validator kept
            if expected is None:
                checks.validate(metadata, schema)
            else:
                with pytest.raises(jsonschema.ValidationError) as raised:
                    checks.validate(metadata, schema)
                assert raised.value.message == expected
    with pytest.raises(jsonschema.SchemaError):
        checks.validate(good, {"type": "no such type"})
    assert checks.ValidationError is jsonschema.ValidationError


def test_the_repository_url_is_read_again_when_config_yml_changes(tmp_path):
    """nbgrader loads the course's settings (which read _config.yml) for every command a
    grading slot runs, so the parsed file is kept, and parsed again once it changes."""
    from coursetools.repo import repository_branch, repository_url
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/a/\n")
    assert (repository_url(tmp_path), repository_branch(tmp_path)) == (
        "https://example.org/a", "main")
    config.write_text("repository:\n  url: https://example.org/longer-name\n  branch: fall\n")
    assert (repository_url(tmp_path), repository_branch(tmp_path)) == (
        "https://example.org/longer-name", "fall")

"""nbgrader settings: generating chapters/ from solutions/, and autograding a class.

`course generate` and `course grade` load this file; so does plain `nbgrader`
run from the repository root, or from a course folder of your own that you copy
this file into (the course's package must be installed: `pip install -e .`).

nbgrader carries on with its defaults when a config file raises an error, which
would grade with none of the settings below. So a problem here stops nbgrader
instead (SystemExit is not an error it catches), with a message that says why.
"""
import os

try:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                        DeduplicateIds, GetGrades, OverwriteCells,
                                        OverwriteKernelspec)

    from coursetools.preprocessors import InsertSetupCell, ShortTracebacks, StripCellTags
    from coursetools.repo import find_root, repository_branch, repository_url

    # the repository this file belongs to: its own folder, a folder above, or the
    # checkout the course's package is installed from
    repo = find_root(os.path.dirname(os.path.abspath(__file__)))
    url, branch = repository_url(repo), repository_branch(repo)
except Exception as exc:  # noqa: BLE001  whatever it is, nbgrader must not go on without us
    raise SystemExit(
        f"nbgrader_config.py could not load the course's settings ({type(exc).__name__}: "
        f"{exc}). Install the course's package (pip install -e . in its repository) and "
        "run nbgrader again; grading without these settings would not be safe.") from None

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# Where things live when run from the repository: solutions/ -> chapters/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "chapters"

# Generation: the setup cell learns the repository URL from _config.yml.
c.GenerateAssignment.preprocessors = [InsertSetupCell] + list(
    GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default())
c.InsertSetupCell.repository_url = url
c.InsertSetupCell.branch = branch

# Autograding. Student-added tags must not change what runs: all tags are
# stripped before execution, and the executor's skip tag is one no notebook uses.
# (`course grade` also decides test cells outside the student's kernel: see
# coursetools/grade/worker/execute.py; plain nbgrader runs them in it.)
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, StripCellTags, CheckCellMetadata]
c.Execute.skip_cells_with_tag = "course-grading-never-skips-a-cell"
c.Execute.timeout = 120            # seconds per cell; an endless loop is interrupted
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True   # a deleted test cell comes back and still runs

# Feedback shows the student's own notebook with grades, never the hidden tests.
# Tracebacks quote the failing cell's source, hidden tests included: shorten them.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                    ShortTracebacks]

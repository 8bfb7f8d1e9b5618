"""nbgrader settings: generating chapters/ from solutions/, and autograding a class.

`course generate` and `course grade` load this file; so does plain `nbgrader`
run from the repository root.
"""
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearOutput,
                                    DeduplicateIds, GetGrades, OverwriteCells,
                                    OverwriteKernelspec)

from coursetools.preprocessors import (GuardStudentCode, InsertSetupCell, ShortTracebacks,
                                       StripCellTags)
from coursetools.repo import repository_branch, repository_url

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
repo = os.path.dirname(os.path.abspath(__file__))

# Where things live when run from the repository: solutions/ -> chapters/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "chapters"

# Generation: the setup cell learns the repository URL from _config.yml.
c.GenerateAssignment.preprocessors = [InsertSetupCell] + list(
    GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default())
c.InsertSetupCell.repository_url = repository_url(repo)
c.InsertSetupCell.branch = repository_branch(repo)

# Autograding. Student-added tags must not change what runs: all tags are
# stripped before execution, and the executor's skip tag is one no notebook uses.
# Student code that reaches for the grader or IPython's machinery is disarmed.
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                      OverwriteCells, StripCellTags, GuardStudentCode,
                                      CheckCellMetadata]
c.Execute.skip_cells_with_tag = "course-grading-never-skips-a-cell"
c.Execute.timeout = 120            # seconds per cell; an endless loop is interrupted
c.Execute.interrupt_on_timeout = True
c.OverwriteCells.add_missing_cells = True   # a deleted test cell comes back and still runs

# Feedback shows the student's own notebook with grades, never the hidden tests.
# Tracebacks quote the failing cell's source, hidden tests included: shorten them.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                    ShortTracebacks]

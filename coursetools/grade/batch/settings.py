"""What `course grade` tells nbgrader: one traitlets ``Config`` of plain values.

The slots get it directly (``slots.Slot``) and apply it over every configuration file
nbgrader reads, so a stray ``~/.jupyter/nbgrader_config.py`` cannot change how a class is
graded. The grading folder's ``nbgrader_config.py`` is written from the same Config, for
formgrader and for nbgrader commands an instructor runs there by hand: they grade, export
and render feedback as `course grade` does.
"""
import pprint
from pathlib import Path

from traitlets.config import Config

#: what `nbgrader export` writes in the grading folder (course grade's own is grades.csv)
NBGRADER_EXPORT = "nbgrader-grades.csv"
#: nbgrader's exchange in the grading folder: the released assignments
EXCHANGE = "exchange"
EXECUTOR = "coursetools.grade.worker.execute.GradeOutsideKernel"
FEEDBACK_EXPORTER = "coursetools.grade.worker.feedback.FeedbackExporter"


def autograde_steps():
    """nbgrader's autograde preprocessors, as import paths, with the course's executor in
    place of nbgrader's Execute: test cells are decided outside the student's kernel."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    steps = Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default()
    return [EXECUTOR if step is Execute else f"{step.__module__}.{step.__qualname__}"
            for step in steps]


def build(workdir, source, db_url, course_id, sandbox, cell_timeout, nnlib_copy=None,
          demonstrations_file=None, limits_file=None):
    """The Config for grading in ``workdir`` (paths as strings, classes as import paths)."""
    workdir = Path(workdir)
    c = Config()
    c.CourseDirectory.root = str(workdir)
    c.CourseDirectory.source_directory = str(source)
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.course_id = course_id
    c.Exchange.root = str(workdir / EXCHANGE)
    c.Execute.timeout = int(cell_timeout)
    # the notebook is checked against nbformat's schema once, after nbgrader's steps
    c.Exporter.optimistic_validation = True
    c.Autograde.autograde_preprocessors = autograde_steps()
    c.GradeOutsideKernel.sandbox = bool(sandbox)
    c.GradeOutsideKernel.integrity_directory = str(workdir / "integrity")
    for key, path in (("cell_limits", limits_file), ("demonstrations", demonstrations_file),
                      ("nnlib_copy", nnlib_copy)):
        if path is not None:
            c.GradeOutsideKernel[key] = str(path)
    c.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER
    c.ExportPlugin.to = NBGRADER_EXPORT       # never over course grade's grades.csv
    return c


def write(path, config, repo_config):
    """``config`` as an nbgrader_config.py at ``path``, after the repository's own file
    ``repo_config`` (how to generate the student notebooks)."""
    lines = ["# Written by `course grade` (coursetools/grade/batch/settings.py): the repository's",
             "# settings, then how this folder is graded. `course grade` applies the same values.",
             "c = get_config()  # noqa: F821",
             f"load_subconfig({str(repo_config)!r})  # noqa: F821"]
    for section, values in config.items():
        for key, value in values.items():
            width = 96 - len(section) - len(key)
            lines.append(f"c.{section}.{key} = " + pprint.pformat(value, width=width))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

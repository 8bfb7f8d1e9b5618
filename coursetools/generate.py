"""`course generate`: solutions/<a>/ -> chapters/<a>/ with nbgrader's generate_assignment."""
import tempfile
from pathlib import Path

from coursetools.repo import assignments


def generate(root, names=None, release_directory=None):
    """Generate the student notebooks of ``names`` (default: all) from solutions/.

    Writes chapters/<a>/ (or ``release_directory``/<a>/). Raises RuntimeError with
    nbgrader's output when a notebook fails to generate. Each assignment is generated
    by a process forked from one that has imported nbgrader already (seconds saved per
    assignment).
    """
    from coursetools.grade.batch.autograde import run_nbgrader_step

    names = list(names or assignments(root))
    extra = [f"--CourseDirectory.release_directory={release_directory}"] if release_directory else []
    with tempfile.TemporaryDirectory() as logs:
        for name in names:
            run_nbgrader_step(["generate_assignment", name, "--no-db", "--force", *extra], root,
                              Path(logs) / f"{name}.log", f"generating {name} failed")
    return names

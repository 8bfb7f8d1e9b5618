"""`course generate`: solutions/<a>/ -> chapters/<a>/ with nbgrader's generate_assignment."""
import tempfile
from pathlib import Path

from coursetools.repo import assignments

GENERATE_TIMEOUT = 600   # seconds for one assignment


def generate(root, names=None, release_directory=None):
    """Generate the student notebooks of ``names`` (default: all) from solutions/.

    Writes chapters/<a>/ (or ``release_directory``/<a>/). Raises RuntimeError with
    nbgrader's output when a notebook fails to generate. Each assignment is generated
    by a process forked from one that has imported nbgrader already (seconds saved per
    assignment).
    """
    from coursetools.autograde import run_nbgrader

    names = list(names or assignments(root))
    extra = [f"--CourseDirectory.release_directory={release_directory}"] if release_directory else []
    with tempfile.TemporaryDirectory() as logs:
        for name in names:
            log = Path(logs) / f"{name}.log"
            code = run_nbgrader(["generate_assignment", name, "--no-db", "--force", *extra],
                                cwd=root, timeout=GENERATE_TIMEOUT, log_path=log)
            if code != 0:
                output = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
                raise RuntimeError(f"generating {name} failed:\n{output}")
    return names

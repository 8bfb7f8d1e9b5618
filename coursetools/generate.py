"""`course generate`: solutions/<a>/ -> chapters/<a>/ with nbgrader's generate_assignment."""
import subprocess
import sys

from coursetools.repo import assignments


def nbgrader(args, cwd, timeout=None, log=None):
    """Run the nbgrader command line with this Python; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, timeout=timeout,
                          stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          stdin=subprocess.DEVNULL)


def generate(root, names=None, release_directory=None):
    """Generate the student notebooks of ``names`` (default: all) from solutions/.

    Writes chapters/<a>/ (or ``release_directory``/<a>/). Raises RuntimeError with
    nbgrader's output when a notebook fails to generate.
    """
    names = list(names or assignments(root))
    extra = [f"--CourseDirectory.release_directory={release_directory}"] if release_directory else []
    for name in names:
        result = nbgrader(["generate_assignment", name, "--no-db", "--force", *extra], cwd=root)
        if result.returncode != 0:
            raise RuntimeError(f"generating {name} failed:\n{result.stdout}")
    return names

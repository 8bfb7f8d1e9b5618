"""Where the course's own files are: the repository root, its assignments, its settings."""
import functools
import re
from pathlib import Path

import yaml

ASSIGNMENT_NAME = re.compile(r"^\d\d_[a-z0-9_]+$")


def find_root(start=None):
    """The repository root: the nearest folder upwards holding nbgrader_config.py and _config.yml."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "_config.yml").is_file():
            return folder
    package_root = Path(__file__).resolve().parent.parent
    if (package_root / "nbgrader_config.py").is_file():
        return package_root
    raise FileNotFoundError(f"no course repository (nbgrader_config.py + _config.yml) above {here}")


def assignments(root):
    """Names of the graded assignments: the folders of solutions/ named like 01_dot_product."""
    folder = Path(root) / "solutions"
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and ASSIGNMENT_NAME.match(p.name))


def _repository(root):
    """_config.yml's ``repository`` section. nbgrader loads the course's settings, which read
    it, for every command a grading slot runs: it is parsed again only when the file changed."""
    path = Path(root) / "_config.yml"
    info = path.stat()
    return dict(_parsed_repository(str(path), info.st_mtime_ns, info.st_size))


@functools.lru_cache(maxsize=4)
def _parsed_repository(path, stamp, size):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        return tuple(yaml.load(handle, Loader=loader)["repository"].items())  # noqa: S506 (safe)


def repository_url(root):
    """The course repository's URL, set once in _config.yml (repository: url:)."""
    return _repository(root)["url"].rstrip("/")


def repository_branch(root):
    return _repository(root).get("branch", "main")

"""The repository's promises: curriculum names, the README's commands, CI."""
import ast
import re
import subprocess
from pathlib import Path

import pytest
import yaml

import nnlib
from coursetools.curriculum import CURRICULUM

ROOT = Path(__file__).resolve().parents[1]

ALL_NAMES = [name for names in CURRICULUM.values() for name in names]


def _top_level_definitions():
    """name -> modules of nnlib that define it at top level (def, class or assignment)."""
    found = {}
    for path in (ROOT / "nnlib").rglob("*.py"):
        if "grading" in path.parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            for name in names:
                found.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    return found


@pytest.mark.parametrize("name", ALL_NAMES)
def test_curriculum_name_imports_from_nnlib_and_is_defined_once(name):
    obj = getattr(nnlib, name)
    assert callable(obj)
    places = _top_level_definitions().get(name, [])
    assert len(places) == 1, f"{name} is defined in {places or 'no module'}"
    assert obj.__module__ == "nnlib." + Path(places[0]).stem


def test_from_nnlib_import_star_works():
    namespace = {}
    exec("from nnlib import *", namespace)
    assert set(ALL_NAMES) <= set(namespace)


def _readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_build_and_test_commands():
    build, test = _readme_commands()[:2]
    assert "jupyter-book build ." in build and "-W" in build
    assert "pytest" in test and "pip install" in test


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci


def test_every_toc_entry_exists():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    for entry in re.findall(r"(?:file|root): (\S+)", toc):
        assert any((ROOT / f"{entry}{ext}").is_file() for ext in (".md", ".ipynb")), entry


def test_no_source_file_is_ignored_by_git():
    sources = [p.relative_to(ROOT).as_posix() for folder in ("nnlib", "coursetools", "solutions",
                                                              "chapters", "docs", "tests")
               for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *sources], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert not ignored, f"git would not commit {ignored}"


def test_binder_starts_with_the_course_installed():
    """repo2docker reads binder/: a Python the package supports, then postBuild installs the
    repository itself, so the launch button opens a chapter whose setup cell installs nothing."""
    import os
    from packaging.specifiers import SpecifierSet
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    requires = re.search(r'^requires-python = "([^"]+)"', pyproject, re.M).group(1)
    assert runtime.removeprefix("python-") + ".0" in SpecifierSet(requires)
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    lines = [ln.strip() for ln in post_build.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert any(re.fullmatch(r"python -m pip install( --no-cache-dir)? (-e )?\.", ln) for ln in lines)
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    with open(ROOT / "_config.yml", encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["launch_buttons"]["binderhub_url"] == "https://mybinder.org"


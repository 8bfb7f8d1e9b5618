"""nbgrader preprocessors the course adds (wired up in nbgrader_config.py)."""
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

SETUP_TAG = "course-setup"


class StripCellTags(NbGraderPreprocessor):
    """Remove every cell tag before autograding.

    Tags are student-editable. Executors honour some of them (``skip-execution``,
    ``raises-exception``), so a tag added to a test cell must never change a grade.
    """

    def preprocess_cell(self, cell, resources, index):
        cell.metadata.pop("tags", None)
        if "jupyter" in cell.metadata:
            cell.metadata["jupyter"].pop("source_hidden", None)
        return cell, resources


class InsertSetupCell(NbGraderPreprocessor):
    """Make the cell tagged ``course-setup`` install nnlib where it is missing (Colab, a fresh hub).

    The repository URL comes from _config.yml, the one place it is set. The cell is
    locked, so autograding always runs the released version of it, and folded on
    the website.
    """

    repository_url = Unicode("", help="git URL of the course repository").tag(config=True)
    branch = Unicode("main", help="branch to install nnlib from").tag(config=True)

    def bootstrap_lines(self):
        return [
            "# Setup: installs the course's library `nnlib` when it is missing (Colab, a fresh hub).",
            "try:",
            "    import nnlib",
            "except ImportError:",
            f'    %pip install --quiet "nnlib @ git+{self.repository_url}@{self.branch}"',
            "",
        ]

    def preprocess(self, nb, resources):
        setup = [c for c in nb.cells if SETUP_TAG in c.metadata.get("tags", [])]
        if len(setup) != 1 or setup[0].cell_type != "code":
            raise ValueError(f"{resources.get('unique_key', 'notebook')}: expected exactly one code "
                             f"cell tagged '{SETUP_TAG}', found {len(setup)}")
        cell = setup[0]
        if not self.repository_url:
            raise ValueError("InsertSetupCell.repository_url is not set (see _config.yml)")
        cell.source = "\n".join(self.bootstrap_lines()) + cell.source
        cell.metadata["tags"] = sorted(set(cell.metadata["tags"]) | {"hide-input"})  # the book folds it
        cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": True,
                                     "task": False, "grade_id": "setup", "schema_version": 3}
        return nb, resources


class ShortTracebacks(NbGraderPreprocessor):
    """In feedback, shorten every error to its one-line message.

    A traceback quotes the source of the cell that raised, and in a test cell that
    source includes the hidden tests. ``ClearHiddenTests`` only clears the source.
    """

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

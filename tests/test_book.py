"""The website builds from a clean checkout with Sphinx warnings as errors, and shows no traceback.

The pages come from `_toc.yml`, so a new chapter is tested by adding it there.
"""
import re
import subprocess
import sys
from pathlib import Path

from nbtools import ROOT


def _toc_pages():
    """Every page of the table of contents, as its path in the built site ('intro.html', ...)."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [f"{entry}.html" for entry in re.findall(r"(?:file|root): (\S+)", toc)]


def test_toc_lists_every_chapter():
    chapters = sorted(p.parent.name for p in (ROOT / "chapters").glob("*/*.ipynb"))
    listed = [page for page in _toc_pages() if page.startswith("chapters/")]
    assert listed == [f"chapters/{name}/{name}.html" for name in chapters]


def test_book_builds_with_warnings_as_errors(tmp_path):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(ROOT),
               "-W", "-n", "--keep-going", "--all", "--path-output", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    pages = {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8")
             for p in html.rglob("*.html")}
    for page in _toc_pages():
        assert page in pages, page
    for name, content in pages.items():
        assert "Traceback (most recent call last)" not in content, name
        assert 'class="output traceback' not in content and "ansi-red-fg" not in content, name
    for chapter in (page for page in _toc_pages() if page.startswith("chapters/")):
        page = pages[chapter]
        assert "colab.research.google.com" in page and "mybinder.org" in page, "launch buttons"
        assert f"{Path(chapter).stem}.ipynb" in page, "download link"
        assert page.count('src="../../_images/') >= 1, f"{chapter} shows no figure"
        assert "NotImplementedError" in page and "YOUR CODE HERE" in page, "the stubs are shown"
    assert pages["docs/00_big_picture.html"].count('src="../_images/') >= 2

"""The website builds from a clean checkout with Sphinx warnings as errors, and shows no traceback."""
import subprocess
import sys
from pathlib import Path

from nbtools import ROOT


def test_book_builds_with_warnings_as_errors(tmp_path):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(ROOT),
               "-W", "-n", "--keep-going", "--all", "--path-output", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    pages = {p.relative_to(html).as_posix(): p.read_text(encoding="utf-8")
             for p in html.rglob("*.html")}
    for page in ("intro.html", "docs/00_big_picture.html", "docs/instructor_guide.html",
                 "docs/benchmarks.html", "chapters/01_dot_product/01_dot_product.html",
                 "chapters/02_sigmoid/02_sigmoid.html"):
        assert page in pages, page
    for name, content in pages.items():
        assert "Traceback (most recent call last)" not in content, name
        assert 'class="output traceback' not in content and "ansi-red-fg" not in content, name
    for chapter in ("chapters/01_dot_product/01_dot_product.html",
                    "chapters/02_sigmoid/02_sigmoid.html"):
        page = pages[chapter]
        assert "colab.research.google.com" in page and "mybinder.org" in page, "launch buttons"
        assert f"{Path(chapter).stem}.ipynb" in page, "download link"
        assert page.count('<img alt=') >= 1 or "image/png" in page, "a figure"
        assert "NotImplementedError" in page and "YOUR CODE HERE" in page, "the stubs are shown"
    assert pages["docs/00_big_picture.html"].count("<img") >= 2

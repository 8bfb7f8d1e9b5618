"""The website builds from a clean checkout with Sphinx warnings as errors, and shows no traceback.

The pages come from `_toc.yml`, so a new chapter is tested by adding it there.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbtools import ROOT


def _toc_pages():
    """Every page of the table of contents, as its path in the built site ('intro.html', ...)."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [f"{entry}.html" for entry in re.findall(r"(?:file|root): (\S+)", toc)]


def test_toc_lists_every_chapter():
    chapters = sorted(p.parent.name for p in (ROOT / "chapters").glob("*/*.ipynb"))
    listed = [page for page in _toc_pages() if page.startswith("chapters/")]
    assert listed == [f"chapters/{name}/{name}.html" for name in chapters]


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The website built from this checkout with warnings as errors: its html folder.

    Built once per test run: the first pytest-xdist worker to get here builds, the others
    wait for it (under xdist the parent of a worker's base temp folder is this run's).
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):   # gw0/, gw1/ ...: their parent is this run's
        shared = shared.parent
    out, done, failed = shared / "book", shared / "book.done", shared / "book.failed"
    try:
        os.mkdir(out)
    except FileExistsError:
        deadline = time.monotonic() + 900
        while not (done.exists() or failed.exists()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert done.exists(), (failed.read_text() if failed.exists() else "the build never ended")
        return out / "_build" / "html"
    try:
        html = _build(out)
    except BaseException as exc:
        failed.write_text(str(exc)[-8000:])
        raise
    done.touch()
    return html


def _build(out):
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build", str(ROOT),
               "-W", "-n", "--keep-going", "--all", "--path-output", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise AssertionError(result.stdout[-4000:] + result.stderr[-4000:])
    (out / "build.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return out / "_build" / "html"


def test_book_builds_with_warnings_as_errors(site):
    html = site
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


def test_the_build_log_has_no_kernel_warnings(site):
    """The notebooks' kernels run over Unix sockets (coursetools/ipc_kernel.py): no kernel
    warns that its traffic is unencrypted, or warns at all."""
    log = (site.parents[1] / "build.log").read_text(encoding="utf-8")
    assert "executing" in log.lower(), "the log is the build's"
    assert "without encryption" not in log and "[IPKernelApp] WARNING" not in log, log[-3000:]


def test_mathjax_ships_with_the_site(site):
    """No page loads anything from a CDN: MathJax is copied into _static."""
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in _toc_pages():
        content = (site / page).read_text(encoding="utf-8")
        assert "cdn.jsdelivr.net" not in content and "mathjax@" not in content, page


@pytest.mark.parametrize("view", ["desktop", "phone"])
def test_every_page_works_in_a_browser_without_network(site, view):
    """Each page in headless Chromium at desktop and at phone width, screenshots in
    _build/screenshots/. CI installs Chromium (.ci/run) and requires the test; elsewhere it
    is skipped, with the reason, when no Chromium is installed."""
    from browser import check_pages, find_chromium
    if find_chromium() is None and not os.environ.get("COURSE_BROWSER_REQUIRED"):
        pytest.skip("no Chromium to open the pages with (Debian/Ubuntu: apt install chromium)")
    problems = check_pages(site, _toc_pages(), ROOT / "_build" / "screenshots", view)
    assert not problems, "\n".join(problems)


def test_reference_page_documents_every_name_nnlib_exports(site):
    """docs/nnlib_reference: autodoc lists only what has a docstring, so every graded name
    has one and a reader finds it under its module."""
    import nnlib
    page = (site / "docs" / "nnlib_reference.html").read_text(encoding="utf-8")
    missing = [name for name, module in nnlib._HOME.items()
               if f'id="nnlib.{module}.{name}"' not in page]
    assert not missing, missing
    assert 'id="nnlib.layers.Linear"' in page and 'id="nnlib.plotting.draw_graph"' in page


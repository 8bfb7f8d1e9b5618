"""The built website as a reader sees it: every page opened in headless Chromium, offline.

``check_pages`` serves the html folder on localhost, refuses every other request (so a
formula typeset from a CDN, or an image from the web, shows up as a failure), opens each
page at desktop or at phone width, saves a screenshot of it and returns the problems it
found, one line each.
"""
import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import nbformat

from coursetools.repo import repository_url

DESKTOP, PHONE = (1280, 900), (390, 844)
#: Debian's package (what .ci/run installs), then other common names
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """The system's Chromium, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve(folder):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# What a page must show, evaluated in the page once it has loaded and MathJax has finished.
_INSPECT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const formulas = [...document.querySelectorAll('.math')];
  const raw = formulas.filter(f => !f.querySelector('mjx-container'))
                      .map(f => f.textContent.trim().slice(0, 60));
  const images = [...document.images].map(i => ({src: i.getAttribute('src'),
                                                 ok: i.complete && i.naturalWidth > 0}));
  const links = sel => [...document.querySelectorAll(sel)].map(a => a.getAttribute('href'))
                                                           .filter(h => h);
  return {formulas: formulas.length, raw, images,
          nav: links('.bd-sidebar-primary a, .prev-next-area a'),
          downloads: links('a[href$=".ipynb"]'),
          launches: links('a[href*="mybinder.org"], a[href*="colab.research.google.com"]')};
}"""

# Elements sticking out to the right of a phone's screen, code blocks and what they hold aside.
_TOO_WIDE = """(width) => {
  if (document.documentElement.scrollWidth <= width + 1) return [];
  const scrolls = el => el.closest('pre, div.highlight, .output, mjx-container, .math, table');
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !scrolls(el)
                  && getComputedStyle(el).visibility !== 'hidden' && el.offsetParent !== null)
    .slice(0, 3).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''))
    .concat([`the page scrolls sideways to ${document.documentElement.scrollWidth} px`]);
}"""


def _check_page(page, base, name, root, shots, view, problems):
    url = urljoin(base, name)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    width, height = DESKTOP if view == "desktop" else PHONE
    page.set_viewport_size({"width": width, "height": height})
    response = page.goto(url, wait_until="load")
    if response is None or not response.ok:
        problems.append(f"{name}: does not load")
        return
    found = page.evaluate(_INSPECT)
    stem = name.replace("/", "__").removesuffix(".html")
    page.screenshot(path=str(shots / f"{stem}-{view}.png"), full_page=True)
    problems.extend(f"{name}: JavaScript error: {text[:160]}" for text in errors)
    if view == "phone":
        wide = page.evaluate(_TOO_WIDE, width)
        if wide:
            problems.append(f"{name}: wider than a {width} px phone screen: {', '.join(wide)}")
        return
    for formula in found["raw"][:3]:
        problems.append(f"{name}: a formula is not typeset: {formula!r}")
    for image in found["images"]:
        if not image["ok"]:
            problems.append(f"{name}: image {image['src']} did not load")
    for href in found["nav"]:
        target = urljoin(url, href)
        if urlparse(target).netloc == urlparse(base).netloc:
            status = page.request.get(target.split("#")[0]).status
            if status != 200:
                problems.append(f"{name}: link {href} gives HTTP {status}")
    if name.startswith("chapters/"):
        notebooks = [h for h in found["downloads"] if Path(h).stem == Path(name).stem
                     and urlparse(urljoin(url, h)).netloc == urlparse(base).netloc]
        if not notebooks:
            problems.append(f"{name}: no download link to its .ipynb")
        for href in notebooks[:1]:
            fetched = page.request.get(urljoin(url, href))
            try:
                nbformat.reads(fetched.text(), as_version=4)
            except Exception as exc:  # noqa: BLE001  whatever nbformat says is the problem
                problems.append(f"{name}: the downloaded notebook does not open ({exc})")
        repository = urlparse(repository_url(root)).path.strip("/")     # "owner/name"
        if len(found["launches"]) < 2 or not all(repository in h for h in found["launches"]):
            problems.append(f"{name}: launch buttons {found['launches']} do not point at "
                            f"{repository}")


@contextlib.contextmanager
def offline_browser(folder):
    """(a Chromium context, the base URL that serves ``folder``, the list of outside URLs the
    pages asked for): every request but those to ``folder`` is refused, as for a reader
    with no network."""
    from playwright.sync_api import sync_playwright

    server = _serve(folder)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    outside = []

    def offline(route):
        if urlparse(route.request.url).netloc == urlparse(base).netloc:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=find_chromium(),
                                                 args=["--no-sandbox"] if os.geteuid() == 0 else [])
            context = browser.new_context()
            context.route("**/*", offline)
            yield context, base, outside
            browser.close()
    finally:
        server.shutdown()


def check_pages(html, pages, shots, view):
    """Open every page of ``pages`` (paths below ``html``) at ``view`` width ("desktop": every
    check; "phone": the width, console errors and the screenshot); the problems, one per line."""
    if find_chromium() is None:
        return ["no Chromium found (Debian/Ubuntu: apt install chromium); .ci/run installs it"]
    shots = Path(shots)
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob(f"*-{view}.png"):
        old.unlink()
    problems = []
    root = Path(__file__).resolve().parents[1]
    with offline_browser(html) as (context, base, outside):
        for name in pages:
            page = context.new_page()
            _check_page(page, base, name, root, shots, view, problems)
            page.close()
    problems.extend(f"a page requested {url} from the network" for url in sorted(set(outside)))
    return problems


def typeset_formulas(folder, name):
    """(how many formulas MathJax typeset on page ``name`` below ``folder``, what the page
    asked of the network), opened offline in Chromium."""
    with offline_browser(folder) as (context, base, outside):
        page = context.new_page()
        page.goto(urljoin(base, name), wait_until="load")
        count = page.evaluate("""async () => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
            await MathJax.startup.promise;
          }
          return document.querySelectorAll('mjx-container').length;
        }""")
    return count, outside


def message_shown_whole(folder, name, text):
    """{width: whether every line of the output holding ``text`` on page ``name`` below
    ``folder`` lies inside the window, with nothing scrolled out of its box}, at desktop
    and at phone width, offline in Chromium."""
    shown = {}
    with offline_browser(folder) as (context, base, _):
        for width, height in (DESKTOP, PHONE):
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": height})
            page.goto(urljoin(base, name), wait_until="load")
            shown[width] = page.evaluate("""text => {
              const boxes = [...document.querySelectorAll('.output_area pre')]
                              .filter(p => p.textContent.includes(text));
              return boxes.length > 0 && boxes.every(p => {
                const r = p.getBoundingClientRect();
                return p.scrollWidth <= p.clientWidth + 1 && r.left >= 0
                       && r.right <= document.documentElement.clientWidth + 1;
              });
            }""", text)
            page.close()
    return shown

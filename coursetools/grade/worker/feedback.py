"""The exporter of `course grade`'s feedback pages: nbconvert's HTML export (nbgrader's
feedback template), with what a slot has rendered for one student kept for the next.

Every student's page has the same template and nearly the same cells, so the templates
are compiled once per slot, and each markdown cell and each cell's highlighted code is
rendered once per source. The page is the same as nbconvert's, but for one pass this
exporter does itself: nbconvert reads the whole page back with BeautifulSoup (a fifth of
its time here) to give images an alt text and JupyterLab's cells a tab stop; the
feedback template has no JupyterLab cells, and the alt text is added to the ``<img>``
tags directly. The summary at the top names each test cell by the function it checks
(nbgrader calls each one "Test cell"), the check messages wrap instead of scrolling, and
the formulas are typeset by a MathJax beside the page, not one from the network.

Students write the markdown, the raw cells and (through their code) the outputs, so
the page shows them as data, never as markup the instructor's browser runs: rendered
markdown keeps only the tags markdown makes (``bleach``), raw cells are shown as text,
and an output keeps its plain, image or LaTeX form (HTML, JavaScript and SVG forms
are dropped; an output with no other form is sanitised like markdown).
"""
import html
import importlib.metadata
import os
import re
import shutil
from pathlib import Path

import bleach

from jinja2 import BytecodeCache, ChoiceLoader, FileSystemLoader, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

from coursetools.curriculum import graded_name, part_of

#: the templates that replace nbconvert's where the course differs (MathJax from beside the page)
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: what a page needs of MathJax, from the copy the website ships (sphinx-mathjax-offline)
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2")
#: the check messages wrap at the page's width instead of scrolling sideways
WRAPPED_OUTPUT = ("<style>div.output_area pre{white-space:pre-wrap;overflow-wrap:anywhere}"
                  "</style>")
_SUMMARY = re.compile(r'(<div id="toc">)\s*<ol>(.*?)</ol>', re.DOTALL)
_SUMMARY_ITEM = re.compile(r'<li( class="late-penalty")?>\s*(?:<a href="#([^"]*)">([^<]*)</a>)?'
                           r'\s*([^<(]*)(?:\(Score: (-?[\d.]+)(?: / ([\d.]+))?\))?\s*</li>')
#: the summary table's look; a failed function's row stands out
SUMMARY_STYLE = ("<style>table.points{margin:0.5em 0;border-collapse:collapse}"
                 "table.points td,table.points th{padding:0.2em 0.8em;border-bottom:1px solid #ddd}"
                 "table.points td.number{text-align:right;font-variant-numeric:tabular-nums}"
                 "table.points tr.lost td{color:#a3231b}</style>")
#: what nbconvert writes for an image without a description
MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s/>])", re.IGNORECASE)
_MAX_ENTRIES = 20_000      # rendered cells kept per slot (a term's chapter needs a few hundred)

#: what rendered markdown may hold: the tags markdown itself makes, and no script of any kind
MARKDOWN_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul"})
MARKDOWN_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href"], "img": ["src", "alt"],
                       "td": ["align"], "th": ["align"], "ol": ["start"]}
#: output forms shown as they are: none of them can run anything in a browser
SAFE_OUTPUT_FORMS = frozenset({"text/plain", "text/latex", "image/png", "image/jpeg",
                               "image/gif", "application/json"})


def clean_html(markup):
    """``markup`` with every tag and attribute outside MARKDOWN_TAGS/ATTRIBUTES escaped
    (so it shows as text) and links limited to http(s), mailto and embedded images."""
    return bleach.clean(markup, tags=MARKDOWN_TAGS, attributes=MARKDOWN_ATTRIBUTES,
                        protocols={"http", "https", "mailto", "data"}, strip_comments=True)


def as_data(nb):
    """Raw cells and code outputs of ``nb`` made safe to render (see the module doc)."""
    for cell in nb.cells:
        if cell.cell_type == "raw":
            cell.metadata.pop("format", None)
            cell.metadata.pop("raw_mimetype", None)
            cell.source = html.escape(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not isinstance(data, dict):
                continue
            kept = {k: v for k, v in data.items() if k in SAFE_OUTPUT_FORMS}
            if not kept and "text/html" in data:
                kept["text/html"] = clean_html(_text(data["text/html"]))
            elif not kept and data:
                kept["text/plain"] = f"[an output of type {', '.join(sorted(data))}, not shown]"
            output["data"] = kept
    return nb


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, in memory; a template whose source changed is compiled
    anew (jinja compares checksums)."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()
_RENDERED = {}


def _remembered(key, render):
    if key not in _RENDERED:
        if len(_RENDERED) >= _MAX_ENTRIES:
            _RENDERED.clear()
        _RENDERED[key] = render()
    return _RENDERED[key]


class _Highlighter:
    """nbconvert's code highlighting filter, once per source."""

    def __init__(self, lexer, parent):
        self.lexer, self.highlight = lexer, Highlight2HTML(pygments_lexer=lexer, parent=parent)

    def __call__(self, source, language=None, metadata=None):
        if metadata:
            return self.highlight(source, language, metadata)
        return _remembered(("code", self.lexer, language, source),
                           lambda: self.highlight(source, language))


def mathjax_source():
    """The folder of the MathJax the website ships (the sphinx-mathjax-offline package)."""
    found = importlib.metadata.distribution("sphinx-mathjax-offline").locate_file(
        "sphinx-mathjax-offline/static/mathjax")
    return Path(str(found))


def ship_mathjax(folder):
    """Put MathJax beside a feedback page in ``folder`` (as ``mathjax/``), so the page
    typesets its formulas with no network wherever the folder goes. The files are hard
    links where the file system allows (a class's pages then share one copy on disk)."""
    source, target = mathjax_source(), Path(folder) / "mathjax"
    for part in MATHJAX_FILES:
        origin = source / part
        files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        for path in files:
            destination = target / path.relative_to(source)
            if destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, destination)
            except OSError:
                shutil.copyfile(path, destination)


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for nbgrader's GenerateFeedback, remembering what it rendered; its MathJax
    is the copy beside the page (``ship_mathjax``)."""


    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        # the course's templates first: they replace nbconvert's of the same name
        environment.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), environment.loader])
        return environment

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        if cell.get("attachments") or self.embed_images:
            return clean_html(HTMLExporter.markdown2html(self, context, source))
        settings = (self.anchor_link_text, self.exclude_anchor_links, repr(self.lexer_options))
        return _remembered(("markdown", settings, source),
                           lambda: clean_html(HTMLExporter.markdown2html(self, context, source)))

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))
        resources = self._init_resources(resources)
        nb = as_data(nb)
        self.register_filter("highlight_code", _Highlighter(lexer, self))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return readable(_IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', page)), resources


def readable(page):
    """nbgrader's feedback ``page`` with what this course adds: the summary at the top is a
    table of points per function (each test cell named by the function it checks,
    test_<name>), and the messages wrap."""
    page = _SUMMARY.sub(lambda found: found.group(1) + summary_table(found.group(2)), page, 1)
    return page.replace("</head>", WRAPPED_OUTPUT + SUMMARY_STYLE + "</head>", 1)


def summary_table(items):
    """The rows of nbgrader's summary list (``<li>`` items: a link to a graded cell and its
    score) as a table of points per function, with what each row means in words."""
    rows = []
    for late, target, label, words, score, points in _SUMMARY_ITEM.findall(items):
        if late:
            rows.append(("Late submission penalty", f"-{score.lstrip('-')}", "", ""))
            continue
        if not target:
            continue
        name = graded_name(target) if label == "Test cell" and target.startswith("test_") else ""
        part = f", {part_of(target)}" if part_of(target) else ""
        what = (f'<a href="#{html.escape(target)}">Checks of <code>{html.escape(name)}</code>'
                f"{html.escape(part)}</a>" if name
                else f'<a href="#{html.escape(target)}">{html.escape(label)}</a>')
        if not score:
            rows.append((what, "", "", ""))
            continue
        got, of = float(score), float(points or 0)
        verdict = ("full marks" if got >= of else "some points" if got > 0 else "no points")
        rows.append((what, _number(got), _number(of), verdict))
    body = "".join(
        ('<tr class="lost">' if verdict in ("no points", "some points") else "<tr>") +
        f'<td>{what}</td><td class="number">{got}</td><td class="number">{of}</td>'
        f"<td>{verdict}</td></tr>" for what, got, of, verdict in rows)
    return ('<table class="points"><thead><tr><th>What was checked</th><th>Points</th>'
            f"<th>Out of</th><th></th></tr></thead><tbody>{body}</tbody></table>")


def _number(value):
    return f"{value:g}"

"""The exporter of `course grade`'s feedback pages: nbconvert's HTML export (nbgrader's
feedback template), with what a slot has rendered for one student kept for the next.

Every student's page has the same template and nearly the same cells, so the templates
are compiled once per slot, and each markdown cell and each cell's highlighted code is
rendered once per source. The page is the same as nbconvert's, but for one pass this
exporter does itself: nbconvert reads the whole page back with BeautifulSoup (a fifth of
its time here) to give images an alt text and JupyterLab's cells a tab stop; the
feedback template has no JupyterLab cells, and the alt text is added to the ``<img>``
tags directly.
"""
import re

from jinja2 import BytecodeCache, pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

#: what nbconvert writes for an image without a description
MISSING_ALT = "No description has been provided for this image"
_IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)(?=[\s/>])", re.IGNORECASE)
_MAX_ENTRIES = 20_000      # rendered cells kept per slot (a term's chapter needs a few hundred)


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


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for nbgrader's GenerateFeedback, remembering what it rendered."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        return environment

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        if cell.get("attachments") or self.embed_images:
            return HTMLExporter.markdown2html(self, context, source)
        settings = (self.anchor_link_text, self.exclude_anchor_links, repr(self.lexer_options))
        return _remembered(("markdown", settings, source),
                           lambda: HTMLExporter.markdown2html(self, context, source))

    def from_notebook_node(self, nb, resources=None, **kw):
        info = nb.metadata.get("language_info", {})
        lexer = info.get("pygments_lexer", info.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", _Highlighter(lexer, self))
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMG_WITHOUT_ALT.sub(f'<img alt="{MISSING_ALT}"', page), resources

"""Sphinx extension: each script once per page.

Under Jupyter Book 1, sphinx-thebe and sphinx-togglebutton register their inline scripts
twice (once with the file name None, once with ''); the second
``const THEBE_JS_URL = ...`` is a JavaScript error on every page.
"""


def _unique_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

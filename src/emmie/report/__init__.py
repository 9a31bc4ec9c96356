"""The pages: thin renderers that lay out ``findings.json`` and the stages' figures (Jinja2, autoescaped)."""

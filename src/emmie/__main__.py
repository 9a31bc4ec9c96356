import sys

# `python -m emmie` is a process of its own (every Snakemake job is one): keep jsonschema from importing
# rfc3987_syntax, which JupyterLab's dependencies install and which builds a parser for IRIs at import
# (about 1 s per process here). emmie's schemas check no "iri" formats, so nothing is lost; jsonschema
# skips that format when the module cannot be imported.
sys.modules.setdefault("rfc3987_syntax", None)

from emmie.cli import main  # noqa: E402

sys.exit(main())

"""The extraction workbook: ``emmie template`` writes it, ``emmie import`` merges it back.

Analysts who prefer a spreadsheet to CSV files fill one Excel sheet per coded table,
with the codebook's drop-down lists and column notes; the import checks every cell as
``emmie validate`` does and merges new rows into the review without overwriting any.
"""

from emmie.workbook.cli import main_import, main_template
from emmie.workbook.importer import Conflict, ImportConflict, ImportResult, TableCounts, cell_text, import_workbook
from emmie.workbook.template import write_template

__all__ = [
    "Conflict",
    "ImportConflict",
    "ImportResult",
    "TableCounts",
    "cell_text",
    "import_workbook",
    "main_import",
    "main_template",
    "write_template",
]

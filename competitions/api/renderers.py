"""CSV output for tabular endpoints (selected with ?format=csv)."""

from __future__ import annotations

import csv
import io

from rest_framework.renderers import BaseRenderer

# A spreadsheet would run a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


class CSVRenderer(BaseRenderer):
    """Renders ``{"columns": [...], "rows": [{...}, ...]}`` as CSV with a header line;
    anything else (an error) as key,value lines."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if isinstance(data, dict) and "rows" in data and "columns" in data:
            columns = data["columns"]
            writer.writerow(columns)
            for row in data["rows"]:
                writer.writerow([_cell(row.get(c)) for c in columns])
        elif isinstance(data, dict):
            for key, value in data.items():
                writer.writerow([_cell(key), _cell(value)])
        return out.getvalue().encode(self.charset)

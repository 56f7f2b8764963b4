"""Word (.docx, python-docx) and PDF (pypdf) documents: text out, or a reject saying why not."""

from __future__ import annotations

import io
import logging
import zipfile
import zlib
from pathlib import Path

import orjson

from ..normalize import normalize_text
from .options import IngestOptions
from .records import ParsedFile, RecordError
from .shapes import document_from_text


def _document(parsed: ParsedFile, path: str, text: str, meta: dict, opts: IngestOptions) -> ParsedFile:
    text = normalize_text(text)
    if not text:
        raise RecordError("empty_record", "no extractable text (a scanned file needs OCR first)")
    if len(text.encode()) > opts.max_record_bytes:
        raise RecordError("too_large", f"extracted text is over the {opts.max_record_bytes:,}-byte record limit")
    kind = "document" if opts.format == "text" else ("transcript" if opts.format == "transcript" else None)
    meta = {"file_name": Path(path).name, **meta}
    parsed.documents.append(document_from_text(f"{path}:1", text, Path(path).name,
                                               orjson.dumps(meta).decode(), opts, kind))
    return parsed


def _row_text(row) -> str:
    """Cells of one table row; a merged cell is listed once, not once per grid column it spans
    (python-docx repeats it, and the repeats share one ``<w:tc>`` element)."""
    cells, previous = [], None
    for cell in row.cells:
        if cell._tc is not previous:
            cells.append(cell.text.strip())
        previous = cell._tc
    return " | ".join(cells)


def _docx_blocks(document) -> list[str]:
    """Paragraphs and table rows in document order, so a table stays where the author put it."""
    from docx.table import Table

    blocks = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.extend(_row_text(row) for row in item.rows)
        else:
            blocks.append(item.text)
    return blocks


def read_docx(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    # A cut or damaged file fails in zipfile (no central directory, unknown method), zlib (a cut
    # member) or lxml (a damaged part); each is this file's fault, never a crash of the ingest.
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _docx_blocks(document)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, NotImplementedError,
            PackageNotFoundError, XMLSyntaxError) as exc:
        raise RecordError("corrupt_file", f"not a readable .docx (truncated, damaged or not Word 2007+): "
                                          f"{type(exc).__name__}: {exc}") from None
    return _document(ParsedFile(path, "docx"), path, "\n".join(blocks), {}, opts)


def read_pdf(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damage is reported as the reject's reason

    # pypdf reports damage as its own errors, and as NotImplementedError (unknown filters) or
    # plain ValueError/KeyError/TypeError from deep inside; each is this file's fault.
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise RecordError("encrypted_file", "PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except RecordError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, NotImplementedError, zlib.error) as exc:
        raise RecordError("corrupt_file", f"not a readable PDF (truncated or damaged): "
                                          f"{type(exc).__name__}: {exc}") from None
    return _document(ParsedFile(path, "pdf"), path, "\n\n".join(pages), {"pages": len(pages)}, opts)

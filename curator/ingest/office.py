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


# python-docx builds an object per paragraph: a 100 KB file of a million empty paragraphs took
# 27 s and +560 MB. The parse work is bounded before python-docx sees the file.
MAX_DOCX_BLOCKS = 100_000


def _check_docx_work(data: bytes, opts: IngestOptions) -> None:
    """Refuse a .docx whose main part inflates past 8x the record limit or holds more than
    ``MAX_DOCX_BLOCKS`` paragraphs and table rows (a zip bomb of empty paragraphs)."""
    limit = 8 * opts.max_record_bytes
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/document.xml")
        if info.file_size > limit:
            raise RecordError("too_large", f"word/document.xml inflates to {info.file_size:,} bytes, over "
                                           f"{limit:,} (8x the record limit)")
        with archive.open(info) as part:
            xml = part.read(limit + 1)
    if len(xml) > limit:
        raise RecordError("too_large", f"word/document.xml inflates past {limit:,} bytes (8x the record limit)")
    blocks = xml.count(b"<w:p>") + xml.count(b"<w:p ") + xml.count(b"<w:p/>") + xml.count(b"<w:tr>") + xml.count(b"<w:tr ")
    if blocks > MAX_DOCX_BLOCKS:
        raise RecordError("too_large", f"{blocks:,} paragraphs and table rows, over the {MAX_DOCX_BLOCKS:,} "
                                       "a document may hold")


def read_docx(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    import docx  # python-docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml.etree import XMLSyntaxError

    # A cut or damaged file fails in zipfile (no central directory, unknown method), zlib (a cut
    # member) or lxml (a damaged part); each is this file's fault, never a crash of the ingest.
    try:
        _check_docx_work(data, opts)
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

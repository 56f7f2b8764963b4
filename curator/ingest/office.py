"""Word (.docx, python-docx) and PDF (pypdf) documents: text out, or a reject saying why not."""

from __future__ import annotations

import io
import zipfile
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


def read_docx(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    import docx  # python-docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RecordError("corrupt_file", f"not a readable .docx (truncated or not Word 2007+): {exc}") from None
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.append(" | ".join(cell.text.strip() for cell in row.cells))
    return _document(ParsedFile(path, "docx"), path, "\n".join(blocks), {}, opts)


def read_pdf(data: bytes, path: str, opts: IngestOptions) -> ParsedFile:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise RecordError("encrypted_file", "PDF is encrypted; decrypt it first")
        pages = [page.extract_text() or "" for page in reader.pages]
    except RecordError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise RecordError("corrupt_file", f"not a readable PDF (truncated or damaged): {exc}") from None
    return _document(ParsedFile(path, "pdf"), path, "\n\n".join(pages), {"pages": len(pages)}, opts)

"""Readers, file by file: what lands, what is rejected, with which code and which origin.

Every test writes a real file and parses it the way the ingest step does: ``plan_tasks`` then
``parse_task`` for each task."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from curator.ingest.options import IngestOptions
from curator.ingest.readers import Task, parse_task, plan_tasks, reader_for
from curator.ingest.records import ParsedFile


def parse(path: Path, data: str | bytes, chunk_bytes: int = 1 << 20, **options) -> ParsedFile:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    merged = ParsedFile(str(path), "")
    for task in plan_tasks(path, reader_for(path), path.read_bytes(), chunk_bytes):
        part = parse_task(task, IngestOptions(**options))
        merged.format = part.format
        merged.extend(part)
    return merged


def rejects(parsed: ParsedFile) -> list[tuple[str, str]]:
    """(line or key, code) of each reject, the file path left out."""
    return [(r.origin.removeprefix(parsed.path + ":"), r.code) for r in parsed.rejects]


def landed(parsed: ParsedFile) -> list[tuple[str, str]]:
    """(line or key, what) for documents and examples, in origin order."""
    rows = [(d.origin, d.kind) for d in parsed.documents] + [(e.origin, e.source_format) for e in parsed.examples]
    return sorted(((o.removeprefix(parsed.path + ":"), k) for o, k in rows), key=lambda r: _sort_key(r[0]))


def _sort_key(where: str):
    return (0, int(where), "") if where.isdigit() else (1, 0, where)


def jsonl(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


# --- plain text and Markdown ------------------------------------------------------------------

def test_text_file_is_one_normalised_document(tmp_path):
    path = tmp_path / "note.txt"
    parsed = parse(path, "  Discharge note  \r\n\r\n\r\n\r\nThe cafÃ© visit went well.\r\n    - indented item\r\n")
    assert parsed.format == "text" and parsed.rejects == []
    [doc] = parsed.documents
    assert doc.origin == f"{path}:1"
    assert (doc.kind, doc.title, doc.turns) == ("document", "note.txt", None)
    assert doc.text == "Discharge note\n\nThe café visit went well.\n    - indented item"
    assert json.loads(doc.metadata) == {"file_name": "note.txt"}
    assert doc.n_words == 10  # whitespace-separated: the "-" bullet counts


def test_crlf_and_lf_files_give_the_same_document_hash(tmp_path):
    text = "Line one.\nLine two.\n\nLine three.\n"
    lf = parse(tmp_path / "lf.md", text).documents[0]
    crlf = parse(tmp_path / "crlf.md", text.replace("\n", "\r\n")).documents[0]
    assert lf.text == crlf.text == "Line one.\nLine two.\n\nLine three."
    assert lf.text_hash == crlf.text_hash


def test_markdown_keeps_its_markup(tmp_path):
    text = "# Title\n\n* one\n* two\n\n```python\nif x:\n    y()\n```"
    [doc] = parse(tmp_path / "readme.md", text + "\n").documents
    assert doc.text == text


def test_text_bom_is_dropped(tmp_path):
    [doc] = parse(tmp_path / "bom.txt", b"\xef\xbb\xbfhello").documents
    assert doc.text == "hello"


@pytest.mark.parametrize("data", ["", " \r\n\t\n"])
def test_empty_text_file_is_rejected(tmp_path, data):
    assert rejects(parse(tmp_path / "empty.txt", data)) == [("1", "empty_record")]


def test_invalid_utf8_in_a_text_file_names_the_line(tmp_path):
    parsed = parse(tmp_path / "latin1.txt", "line one\nline two\ncaf\xe9\n".encode("latin-1"))
    assert rejects(parsed) == [("3", "invalid_utf8")]
    assert parsed.rejects[0].reason == "not valid UTF-8 at line 3, byte 4 (0xe9); re-save the file as UTF-8"


def test_text_file_over_the_record_limit(tmp_path):
    assert rejects(parse(tmp_path / "big.txt", "word " * 300, max_record_bytes=1000)) == [("1", "too_large")]


# --- encodings and binary content -------------------------------------------------------------

@pytest.mark.parametrize("name", ["blob.txt", "blob.csv", "blob.jsonl", "blob.json", "blob.vtt"])
def test_binary_file_is_rejected(tmp_path, name):
    parsed = parse(tmp_path / name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    assert rejects(parsed) == [("1", "binary_file")]
    assert parsed.documents == [] and parsed.examples == []


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_with_bom_is_wrong_encoding(tmp_path, encoding, bom):
    parsed = parse(tmp_path / "wide.txt", bom + "Doctor: hello\n".encode(encoding))
    assert rejects(parsed) == [("1", "wrong_encoding")]
    assert parsed.rejects[0].reason == "file is UTF-16 encoded; re-save it as UTF-8"


def test_utf16_without_bom_is_wrong_encoding_not_binary(tmp_path):
    parsed = parse(tmp_path / "wide.csv", "text\nhello there\n".encode("utf-16-le"))
    assert rejects(parsed) == [("1", "wrong_encoding")]
    assert "UTF-16" in parsed.rejects[0].reason


# --- Word and PDF -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Visit summary", level=1)
    document.add_paragraph("The patient reported knee pain.")
    table = document.add_table(rows=2, cols=2)
    for (r, c), value in {(0, 0): "Drug", (0, 1): "Dose", (1, 0): "Ibuprofen", (1, 1): "400 mg"}.items():
        table.cell(r, c).text = value
    document.add_paragraph("Follow up in two weeks.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 10, "Discharge letter\nThe patient is well.")
    pdf.add_page()
    pdf.multi_cell(0, 10, "Page two.")
    return bytes(pdf.output())


def test_docx_paragraphs_and_table_in_document_order(tmp_path, docx_bytes):
    path = tmp_path / "summary.docx"
    parsed = parse(path, docx_bytes)
    assert parsed.format == "docx" and parsed.rejects == []
    [doc] = parsed.documents
    assert (doc.origin, doc.kind, doc.title) == (f"{path}:1", "document", "summary.docx")
    assert doc.text == ("Visit summary\nThe patient reported knee pain.\nDrug | Dose\nIbuprofen | 400 mg\n"
                        "Follow up in two weeks.")
    assert json.loads(doc.metadata) == {"file_name": "summary.docx"}


def test_docx_merged_cells_are_read_once(tmp_path):
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Medication plan"
    for c, value in enumerate(["Drug", "Dose", "When"]):
        table.cell(1, c).text = value
    out = io.BytesIO()
    document.save(out)
    [doc] = parse(tmp_path / "merged.docx", out.getvalue()).documents
    assert doc.text == "Medication plan\nDrug | Dose | When"


def test_docx_cut_in_half_is_corrupt(tmp_path, docx_bytes):
    parsed = parse(tmp_path / "cut.docx", docx_bytes[: len(docx_bytes) // 2])
    assert rejects(parsed) == [("1", "corrupt_file")]
    assert parsed.rejects[0].reason.startswith("not a readable .docx (truncated, damaged or not Word 2007+)")


def _rewrite_zip(data: bytes, replace: dict[str, bytes]) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, replace.get(name, source.read(name)))
    return out.getvalue()


def test_docx_with_a_damaged_xml_part_is_corrupt_not_a_crash(tmp_path, docx_bytes):
    damaged = _rewrite_zip(docx_bytes, {"word/document.xml": b"<w:document><w:body"})
    assert rejects(parse(tmp_path / "damaged.docx", damaged)) == [("1", "corrupt_file")]


def test_docx_with_damaged_compressed_bytes_is_corrupt_not_a_crash(tmp_path, docx_bytes):
    start = docx_bytes.index(b"word/document.xml") + 40  # inside that member's deflate stream
    damaged = docx_bytes[:start] + bytes(200) + docx_bytes[start + 200:]
    assert rejects(parse(tmp_path / "bits.docx", damaged)) == [("1", "corrupt_file")]


def test_zip_that_is_not_a_word_file_is_corrupt(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert rejects(parse(tmp_path / "other.docx", out.getvalue())) == [("1", "corrupt_file")]


def test_text_named_docx_is_corrupt(tmp_path):
    parsed = parse(tmp_path / "fake.docx", "plain text, not a zip")
    assert rejects(parsed) == [("1", "corrupt_file")]
    assert parsed.rejects[0].reason == "not a DOCX file (not a zip archive): wrong extension or damaged"


def test_pdf_text_is_extracted_page_by_page(tmp_path, pdf_bytes):
    path = tmp_path / "letter.pdf"
    parsed = parse(path, pdf_bytes)
    assert parsed.format == "pdf" and parsed.rejects == []
    [doc] = parsed.documents
    assert (doc.origin, doc.kind, doc.title) == (f"{path}:1", "document", "letter.pdf")
    assert doc.text == "Discharge letter\nThe patient is well.\n\nPage two."
    assert json.loads(doc.metadata) == {"file_name": "letter.pdf", "pages": 2}


@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_truncated_pdf_is_corrupt(tmp_path, pdf_bytes, cut):
    parsed = parse(tmp_path / "cut.pdf", pdf_bytes[: int(len(pdf_bytes) * cut)])
    assert rejects(parsed) == [("1", "corrupt_file")]
    assert parsed.rejects[0].reason.startswith("not a readable PDF (truncated or damaged)")


def test_file_named_pdf_that_is_not_a_pdf_is_corrupt(tmp_path):
    parsed = parse(tmp_path / "fake.pdf", "Doctor: this is a text file\n")
    assert rejects(parsed) == [("1", "corrupt_file")]
    assert parsed.rejects[0].reason == "not a PDF file (no %PDF header in the first 1 KiB): wrong extension or damaged"


def test_pdf_header_after_leading_junk_is_read(tmp_path, pdf_bytes):
    [doc] = parse(tmp_path / "junk.pdf", b"junk before the header\n" + pdf_bytes).documents
    assert doc.text.startswith("Discharge letter")


def test_empty_pdf_page_has_no_text(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    parsed = parse(tmp_path / "scan.pdf", bytes(pdf.output()))
    assert rejects(parsed) == [("1", "empty_record")]
    assert "OCR" in parsed.rejects[0].reason


# --- JSONL ------------------------------------------------------------------------------------

CHAT = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
ALPACA = {"instruction": "Add the numbers.", "input": "2 and 2", "output": "4"}
PROMPT = {"prompt": "Say hi", "completion": "hi"}
TEXT = {"text": "A plain document."}

MIXED = (jsonl(CHAT, ALPACA, PROMPT, TEXT).encode()
         + b'{"text": broken}\n'            # 5 malformed
         + b"\n   \n"                        # 6, 7 blank
         + b"{}\n"                           # 8 empty
         + b"[1, 2]\n"                       # 9 not an object
         + b'{"text": "caf\xe9"}\n'          # 10 invalid UTF-8
         + b'{"foo": 1}\n'                   # 11 no known field
         + b'{"text": "last", "n": 1')       # 12 cut, no trailing newline


def test_jsonl_each_line_is_handled_alone(tmp_path):
    path = tmp_path / "mixed.jsonl"
    parsed = parse(path, MIXED)
    assert parsed.format == "jsonl"
    assert landed(parsed) == [("1", "chat"), ("2", "alpaca"), ("3", "prompt_completion"), ("4", "document")]
    assert rejects(parsed) == [("5", "malformed_json"), ("8", "empty_record"), ("9", "wrong_type"),
                               ("10", "invalid_utf8"), ("11", "unknown_shape"), ("12", "truncated")]
    reasons = {r.origin: r.reason for r in parsed.rejects}
    assert reasons[f"{path}:5"] == "malformed JSON at column 10: unexpected character, expected a JSON value"
    assert reasons[f"{path}:8"] == "record has no fields"
    assert reasons[f"{path}:9"] == "expected an object, got list"
    assert reasons[f"{path}:10"] == "not valid UTF-8 at line 10, byte 14 (0xe9); re-save the file as UTF-8"
    assert reasons[f"{path}:12"].startswith("file ends inside this record")


@pytest.mark.parametrize("chunk_bytes", [1, 7, 40, 100, 10_000])
def test_jsonl_chunks_together_equal_the_whole_file(tmp_path, chunk_bytes):
    path = tmp_path / "mixed.jsonl"
    whole = parse(path, MIXED)
    tasks = plan_tasks(path, "jsonl", MIXED, chunk_bytes)
    if chunk_bytes < 100:
        assert len(tasks) > 3
    assert tasks[0].first_line == 1 and tasks[-1].at_eof and not any(t.at_eof for t in tasks[:-1])
    assert [t.start for t in tasks[1:]] == [t.end for t in tasks[:-1]] and tasks[-1].end == len(MIXED)
    chunked = parse(path, MIXED, chunk_bytes=chunk_bytes)
    assert landed(chunked) == landed(whole)
    assert sorted(rejects(chunked), key=lambda r: int(r[0])) == rejects(whole)
    assert sorted(e.content_hash for e in chunked.examples) == sorted(e.content_hash for e in whole.examples)
    assert {r.origin: r.reason for r in chunked.rejects} == {r.origin: r.reason for r in whole.rejects}


def test_jsonl_last_line_malformed_but_complete_is_not_truncated(tmp_path):
    parsed = parse(tmp_path / "tail.jsonl", jsonl(TEXT) + '{"text": oops}')
    assert rejects(parsed) == [("2", "malformed_json")]


def test_jsonl_cut_line_in_the_middle_is_malformed_not_truncated(tmp_path):
    parsed = parse(tmp_path / "mid.jsonl", '{"text": "cut\n' + jsonl(TEXT))
    assert rejects(parsed) == [("1", "malformed_json")]
    assert landed(parsed) == [("2", "document")]


def test_jsonl_over_size_line(tmp_path):
    big = {"text": "x" * 2000}
    parsed = parse(tmp_path / "big.jsonl", jsonl(TEXT, big, TEXT | {"n": 3}), max_record_bytes=1000)
    assert rejects(parsed) == [("2", "too_large")]
    assert parsed.rejects[0].reason == "record is 2,012 bytes, over the 1,000-byte limit"
    assert landed(parsed) == [("1", "document"), ("3", "document")]


def test_jsonl_utf8_bom_and_crlf_are_accepted(tmp_path):
    data = b"\xef\xbb\xbf" + jsonl(TEXT, PROMPT).replace("\n", "\r\n").encode()
    parsed = parse(tmp_path / "windows.jsonl", data)
    assert parsed.rejects == []
    assert landed(parsed) == [("1", "document"), ("2", "prompt_completion")]


def test_jsonl_same_record_twice_has_one_hash(tmp_path):
    parsed = parse(tmp_path / "dups.jsonl", jsonl(ALPACA, ALPACA))
    first, second = parsed.examples
    assert first.content_hash == second.content_hash
    assert (first.origin, second.origin) == (f"{parsed.path}:1", f"{parsed.path}:2")


def test_plan_tasks_keeps_small_and_non_jsonl_files_whole(tmp_path):
    assert plan_tasks(tmp_path / "a.csv", "csv", b"x\n" * 100, 10) == [Task(str(tmp_path / "a.csv"), "csv", 0, 200,
                                                                           1, True)]
    assert len(plan_tasks(tmp_path / "a.jsonl", "jsonl", b"{}\n" * 3, 100)) == 1


# --- JSON -------------------------------------------------------------------------------------

def test_json_array_origins_are_the_lines_where_records_start(tmp_path):
    data = ('[\n  {"text": "one"},\n  {\n    "instruction": "Add",\n    "output": "4"\n  },\n\n'
            '  {"text": "three"}, {"text": "four"}\n]\n')
    parsed = parse(tmp_path / "records.json", data)
    assert parsed.format == "json" and parsed.rejects == []
    assert landed(parsed) == [("2", "document"), ("3", "alpaca"), ("8", "document"), ("8", "document")]


def test_json_object_holding_a_list_of_records(tmp_path):
    data = {"version": 2, "labels": {"a": 1}, "documents": [{"title": "NDA", "text": "Terms."}, {"text": "More."}, 5]}
    parsed = parse(tmp_path / "wrapped.json", json.dumps(data))
    assert landed(parsed) == [("documents[0]", "document"), ("documents[1]", "document")]
    assert rejects(parsed) == [("documents[2]", "wrong_type")]
    assert parsed.documents[0].title == "NDA"
    assert json.loads(parsed.documents[0].metadata) == {"title": "NDA"}


def test_json_single_chat_record_is_not_split_into_its_messages(tmp_path):
    parsed = parse(tmp_path / "one.json", json.dumps(CHAT, indent=2))
    assert parsed.rejects == [] and parsed.documents == []
    assert landed(parsed) == [("1", "chat")]


def test_json_syntax_error_mid_array_keeps_earlier_records(tmp_path):
    data = '[\n  {"text": "one"},\n  {"text": "two"},\n  {"text": oops},\n  {"text": "four"}\n]\n'
    parsed = parse(tmp_path / "bad.json", data)
    assert landed(parsed) == [("2", "document"), ("3", "document")]
    assert rejects(parsed) == [("4", "malformed_json")]
    assert parsed.rejects[0].reason == ("malformed JSON at line 4 column 12: Expecting value; "
                                        "2 record(s) before it were read, nothing after it")


@pytest.mark.parametrize("data, where", [
    ('[\n  {"text": "one"},\n  {"text": "tw', "3"),    # inside a string
    ('[\n  {"text": "one"},\n  {"text": "two"', "3"),  # inside an object
    ('[\n  {"text": "one"},\n', "3"),                  # between records
])
def test_truncated_json_array(tmp_path, data, where):
    parsed = parse(tmp_path / "cut.json", data)
    assert landed(parsed) == [("2", "document")]
    assert rejects(parsed) == [(where, "truncated")]


@pytest.mark.parametrize("data, where", [
    ('[{"text": "a"} {"text": "b"}]', "1"),     # missing comma
    ('[{"text": "a"},,{"text": "b"}]', "1"),    # empty element
    ('[{"text": "a"}]\n{"text": "b"}', "2"),    # text after the array
])
def test_json_array_separators_are_checked(tmp_path, data, where):
    parsed = parse(tmp_path / "sep.json", data)
    assert landed(parsed) == [("1", "document")]
    assert rejects(parsed) == [(where, "malformed_json")]


def test_json_lines_saved_as_json_are_read_line_by_line(tmp_path):
    parsed = parse(tmp_path / "export.json", '{"text": "a"}\n{"text": oops}\n\n' + jsonl(PROMPT))
    assert parsed.format == "json"
    assert landed(parsed) == [("1", "document"), ("4", "prompt_completion")]
    assert rejects(parsed) == [("2", "malformed_json")]


@pytest.mark.parametrize("data, code", [
    ('{"text": "cut', "truncated"),
    ('{"text": "a"} {"text": "b"}', "malformed_json"),
    ("   \n", "empty_record"),
])
def test_json_whole_file_faults(tmp_path, data, code):
    assert rejects(parse(tmp_path / "doc.json", data)) == [("1", code)]


def test_json_values_orjson_cannot_store_are_rejects_not_crashes(tmp_path):
    """The stdlib parser accepts lone surrogate escapes; storing them must fail per record."""
    data = '[\n{"te\\ud800": "x", "text": "y"},\n{"text": "fine"}\n]'
    parsed = parse(tmp_path / "surrogate.json", data)
    assert rejects(parsed) == [("2", "wrong_type")]
    assert parsed.rejects[0].reason.startswith("record holds a value that cannot be stored as JSON")
    assert [d.text for d in parsed.documents] == ["fine"]


def test_json_integer_beyond_64_bits_is_kept_as_a_number(tmp_path):
    parsed = parse(tmp_path / "bigint.json", '[{"text": "t", "id": 123456789012345678901234567890}]')
    assert json.loads(parsed.documents[0].metadata) == {"id": 1.2345678901234568e29}


def test_title_field_is_normalised_and_kept_in_metadata(tmp_path):
    """Metadata keeps the title: a skipped duplicate is recorded with its metadata only."""
    parsed = parse(tmp_path / "titled.jsonl", jsonl({"title": " CafÃ© notes \r\n", "text": "Body.", "n": 1}))
    [doc] = parsed.documents
    assert (doc.title, doc.text) == ("Café notes", "Body.")
    assert json.loads(doc.metadata) == {"title": "Café notes", "n": 1}


def test_json_record_over_the_limit(tmp_path):
    data = json.dumps([{"text": "x" * 2000}, {"text": "small"}])
    parsed = parse(tmp_path / "big.json", data, max_record_bytes=1000)
    assert rejects(parsed) == [("1", "too_large")]
    assert [d.text for d in parsed.documents] == ["small"]


# --- CSV and TSV ------------------------------------------------------------------------------

def test_csv_dialogue_column_is_a_transcript_and_other_columns_metadata(tmp_path):
    data = ('id,dialogue,section_text\r\n'
            '1,"Doctor: What brings you in?\r\nPatient: My knee.\r\nDoctor: Since when?","Knee pain, 2 days"\r\n'
            '2,"Doctor: Hello\r\nPatient: Cough",Cough\r\n')
    path = tmp_path / "dialogues.csv"
    parsed = parse(path, data, speaker_roles={"doctor": "assistant", "patient": "user"})
    assert parsed.format == "csv" and parsed.rejects == []
    first, second = parsed.documents
    assert (first.origin, second.origin) == (f"{path}:2", f"{path}:5")
    assert first.kind == second.kind == "transcript"
    assert first.text == "Doctor: What brings you in?\nPatient: My knee.\nDoctor: Since when?"
    assert json.loads(first.turns) == [
        {"speaker": "Doctor", "role": "assistant", "text": "What brings you in?"},
        {"speaker": "Patient", "role": "user", "text": "My knee."},
        {"speaker": "Doctor", "role": "assistant", "text": "Since when?"}]
    assert json.loads(first.metadata) == {"id": "1", "section_text": "Knee pain, 2 days"}
    assert json.loads(second.turns)[1] == {"speaker": "Patient", "role": "user", "text": "Cough"}


def test_csv_instruction_response_rows_and_row_start_lines(tmp_path):
    data = ('instruction,response,category\n'
            'Reset my password,Click "Forgot password".,ACCOUNT\n'
            '"Cancel\nmy\norder",Done.,ORDER\n'
            'bad,row,with,extra\n'
            'Track it,Use the link.,ORDER\n')
    parsed = parse(tmp_path / "support.csv", data)
    assert landed(parsed) == [("2", "alpaca"), ("3", "alpaca"), ("7", "alpaca")]
    assert rejects(parsed) == [("6", "malformed_csv")]
    assert parsed.rejects[0].reason == "row has 4 fields, the header has 3"
    assert json.loads(parsed.examples[1].messages) == [{"content": "Cancel\nmy\norder", "role": "user"},
                                                       {"content": "Done.", "role": "assistant"}]
    assert json.loads(parsed.examples[0].metadata) == {"category": "ACCOUNT"}


def test_csv_row_with_invalid_utf8_is_rejected_alone(tmp_path):
    parsed = parse(tmp_path / "mixed.csv", b'text,label\nfine,1\n"caf\xe9\nau lait",2\nalso fine,3\n')
    assert landed(parsed) == [("2", "document"), ("5", "document")]
    assert rejects(parsed) == [("3", "invalid_utf8")]
    assert parsed.rejects[0].reason == "not valid UTF-8 (byte 0xe9) in this row; re-save the file as UTF-8"


def test_tsv(tmp_path):
    parsed = parse(tmp_path / "pairs.tsv", "instruction\tinput\toutput\nTranslate\tHola\tHello\n")
    [example] = parsed.examples
    assert json.loads(example.messages) == [{"content": "Translate\n\nHola", "role": "user"},
                                            {"content": "Hello", "role": "assistant"}]


def test_csv_without_a_recognisable_column(tmp_path):
    parsed = parse(tmp_path / "numbers.csv", "foo,bar\n1,2\n3,4\n")
    assert rejects(parsed) == [("2", "unknown_shape"), ("3", "unknown_shape")]
    assert parsed.rejects[0].reason == ("no messages, instruction/response, prompt/completion, dialogue or text "
                                        "field among ['bar', 'foo']; map one with --field ROLE=NAME")


def test_csv_field_mapping(tmp_path):
    parsed = parse(tmp_path / "numbers.csv", "foo,bar\nhello,2\n", fields={"text": "foo"})
    assert [(d.text, json.loads(d.metadata)) for d in parsed.documents] == [("hello", {"bar": "2"})]


def test_csv_stray_quote_is_malformed_and_the_next_row_lands(tmp_path):
    parsed = parse(tmp_path / "quote.csv", 'text,x\n"a"b,1\nok,2\n')
    assert rejects(parsed) == [("2", "malformed_csv")]
    assert landed(parsed) == [("3", "document")]


def test_csv_quote_open_at_the_end_is_truncated(tmp_path):
    parsed = parse(tmp_path / "cut.csv", 'text,x\nfirst,1\n"second is cut\nhere')
    assert landed(parsed) == [("2", "document")]
    assert rejects(parsed) == [("3", "truncated")]


def test_csv_cells_with_unicode_line_separators_stay_in_their_row(tmp_path):
    """U+2028 or a form feed inside a cell is not a row end; line numbers stay right too."""
    parsed = parse(tmp_path / "seps.csv", "text,n\nfirst\u2028second,1\npage\x0cbreak,2\nlast,3\n")
    assert parsed.rejects == []
    assert [(d.origin.rsplit(":", 1)[1], d.text) for d in parsed.documents] == [
        ("2", "first\nsecond"), ("3", "page\n\nbreak"), ("4", "last")]


def test_csv_blank_rows_are_skipped_and_bom_dropped(tmp_path):
    parsed = parse(tmp_path / "bom.csv", "\ufefftext\r\nhello\r\n\r\n,\r\nworld\r\n".replace(",", ""))
    assert [(d.origin.rsplit(":", 1)[1], d.text) for d in parsed.documents] == [("2", "hello"), ("5", "world")]


@pytest.mark.parametrize("data, code", [("", "empty_record"), ("a,a\n1,2\n", "bad_header"),
                                        ("text,\n1,2\n", "bad_header"), ('"a"b,c\n1,2\n', "bad_header")])
def test_csv_header_faults(tmp_path, data, code):
    assert rejects(parse(tmp_path / "head.csv", data)) == [("1", code)]


def test_csv_row_over_the_limit(tmp_path):
    parsed = parse(tmp_path / "big.csv", f"text\n{'x' * 2000}\nsmall\n", max_record_bytes=1000)
    assert rejects(parsed) == [("2", "too_large")]
    assert parsed.rejects[0].reason == "record is 2,000 bytes, over the 1,000-byte limit"
    assert [d.text for d in parsed.documents] == ["small"]


# --- anything else ----------------------------------------------------------------------------

def test_reader_for_suffixes():
    assert [reader_for(Path(n)) for n in ("a.TXT", "b.markdown", "c.srt", "d.ndjson", "e.tsv", "f.xlsx")] == [
        "text", "text", "subtitles", "jsonl", "csv", None]


def test_unreadable_file_is_a_reject(tmp_path):
    task = Task(str(tmp_path / "gone.txt"), "text", 0, 10, 1, True)
    parsed = parse_task(task, IngestOptions())
    assert [(r.origin, r.code) for r in parsed.rejects] == [(f"{tmp_path / 'gone.txt'}:1", "unreadable")]


def test_count_words_equals_str_split():
    import random

    from curator.ingest.shapes import count_words

    rng = random.Random(3)
    alphabet = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u2003ab.,é"
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(20_000)]
    assert [count_words(s) for s in samples] == [len(s.split()) for s in samples]

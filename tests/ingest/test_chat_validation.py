"""Chat, Alpaca and prompt/completion records: the OpenAI cookbook's format checks (hard faults
are rejects, oddities are warnings kept with the example) and the canonical messages JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.ingest.options import IngestOptions
from curator.ingest.readers import parse_task, plan_tasks, reader_for
from curator.ingest.records import Example, ParsedFile
from curator.normalize import sha256_text

USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello"}


def parse(path: Path, data: str | bytes, **options) -> ParsedFile:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    merged = ParsedFile(str(path), "")
    for task in plan_tasks(path, reader_for(path), path.read_bytes(), 1 << 20):
        merged.extend(parse_task(task, IngestOptions(**options)))
    return merged


def jsonl(*records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def one_example(tmp_path: Path, record: dict, **options) -> Example:
    parsed = parse(tmp_path / "one.jsonl", jsonl(record), **options)
    assert parsed.rejects == [] and parsed.documents == []
    assert len(parsed.examples) == 1
    return parsed.examples[0]


def one_reject(tmp_path: Path, record, **options) -> tuple[str, str]:
    path = tmp_path / "one.jsonl"
    parsed = parse(path, jsonl(record), **options)
    assert parsed.examples == [] and parsed.documents == []
    assert len(parsed.rejects) == 1
    reject = parsed.rejects[0]
    assert reject.origin == f"{path}:1"
    return reject.code, reject.reason


def messages(example: Example) -> list[dict]:
    return json.loads(example.messages)


# --- hard faults ------------------------------------------------------------------------------

@pytest.mark.parametrize("record, code, reason", [
    ({"messages": [{"role": "robot", "content": "x"}, ASSISTANT]}, "unknown_role",
     "message 0: unknown role 'robot' (expected one of ['assistant', 'developer', 'function', 'system', 'tool', "
     "'user'])"),
    ({"messages": [{"role": "user"}, ASSISTANT]}, "missing_key", "message 0: missing key 'content'"),
    ({"messages": [{"content": "Hi"}, ASSISTANT]}, "missing_key", "message 0: missing key 'role'"),
    ({"messages": [USER, {"role": "assistant", "content": " \n "}]}, "empty_content",
     "message 1 (assistant): content is empty"),
    ({"messages": [USER, {"role": "assistant", "content": None}]}, "empty_content",
     "message 1 (assistant): content is empty"),
    ({"messages": [USER, {"role": "user", "content": "again?"}]}, "no_assistant_message",
     "no assistant message: nothing to learn from this example"),
    ({"messages": "Hi there"}, "missing_messages", "'messages' must be a non-empty list of messages, got str"),
    ({"messages": []}, "missing_messages", "'messages' must be a non-empty list of messages, got an empty list"),
    ({"messages": [USER, "Hello"]}, "wrong_type", "message 1: expected an object, got str"),
    ({"messages": [{"role": "user", "content": 42}, ASSISTANT]}, "wrong_type",
     "message 0: content must be a string or a list of text parts, got int"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, ASSISTANT]},
     "wrong_type", "message 0, content part 0: type 'image_url' is not supported; only text parts are"),
])
def test_hard_faults_are_rejects_with_a_reason(tmp_path, record, code, reason):
    assert one_reject(tmp_path, record) == (code, reason)


# --- warnings ---------------------------------------------------------------------------------

def test_unknown_message_key_is_dropped_with_a_warning(tmp_path):
    example = one_example(tmp_path, {"messages": [USER, {"role": "assistant", "content": "Hello", "mood": "happy"}]})
    assert messages(example) == [USER, ASSISTANT]
    assert json.loads(example.warnings) == ["message 1: unknown key 'mood' dropped"]


@pytest.mark.parametrize("msgs, warnings", [
    ([USER, ASSISTANT, {"role": "system", "content": "Be brief"}],
     ["system message not first", "last message is not from the assistant"]),
    ([USER, USER, ASSISTANT], ["two consecutive messages with the same role"]),
    ([USER, ASSISTANT, USER], ["last message is not from the assistant"]),
    ([{"role": "system", "content": "Be brief"}, ASSISTANT, USER, ASSISTANT],
     ["conversation starts with the assistant"]),
    ([{"role": "system", "content": "Be brief"}, USER, ASSISTANT], []),
])
def test_odd_conversations_are_kept_with_warnings(tmp_path, msgs, warnings):
    example = one_example(tmp_path, {"messages": msgs})
    assert example.source_format == "chat"
    assert json.loads(example.warnings) == warnings
    assert [m["role"] for m in messages(example)] == [m["role"] for m in msgs]


def test_text_content_parts_are_joined(tmp_path):
    parts = [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]
    example = one_example(tmp_path, {"messages": [{"role": "user", "content": parts}, ASSISTANT]})
    assert messages(example)[0] == {"role": "user", "content": "Part one.\nPart two."}


def test_tool_calls_and_weight_are_kept(tmp_path):
    call = [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 1}"}}]
    msgs = [USER, {"role": "assistant", "content": None, "tool_calls": call},
            {"role": "tool", "content": "2", "tool_call_id": "c1"}, {"role": "assistant", "content": "2", "weight": 1}]
    example = one_example(tmp_path, {"messages": msgs})
    assert messages(example) == [
        USER, {"role": "assistant", "content": "", "tool_calls": call},
        {"role": "tool", "content": "2", "tool_call_id": "c1"}, {"role": "assistant", "content": "2", "weight": 1}]
    assert json.loads(example.warnings) == []


def test_content_is_normalised(tmp_path):
    example = one_example(tmp_path, {"messages": [{"role": "user", "content": "cafe\u0301  \r\nok\r\n"}, ASSISTANT]})
    assert messages(example)[0]["content"] == "café\nok"


def test_other_record_fields_become_metadata(tmp_path):
    example = one_example(tmp_path, {"messages": [USER, ASSISTANT], "id": 7, "source": "web ", "tags": ["a"],
                                     "empty": "", "none": None})
    assert json.loads(example.metadata) == {"id": 7, "source": "web", "_omitted_fields": ["tags"]}


# --- canonical form -------------------------------------------------------------------------

def test_same_example_with_different_key_order_has_one_hash(tmp_path):
    a = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}'
    b = '{"messages": [{"content": "Hi", "role": "user"}, {"content": "Hello", "role": "assistant"}]}'
    c = '{"messages":[{"content":"Hi\\r\\n","role":"user"},{"role":"assistant","content":"Hello  "}]}'
    parsed = parse(tmp_path / "order.jsonl", f"{a}\n{b}\n{c}\n")
    first, second, third = parsed.examples
    assert first.messages == second.messages == third.messages
    assert first.messages == '[{"content":"Hi","role":"user"},{"content":"Hello","role":"assistant"}]'
    assert first.content_hash == second.content_hash == third.content_hash == sha256_text(first.messages)


# --- Alpaca and prompt/completion -------------------------------------------------------------

def test_alpaca_input_is_appended_to_the_user_message(tmp_path):
    example = one_example(tmp_path, {"instruction": "Translate to French.", "input": "Good morning",
                                     "output": "Bonjour", "category": "translation"})
    assert example.source_format == "alpaca"
    assert messages(example) == [{"role": "user", "content": "Translate to French.\n\nGood morning"},
                                 {"role": "assistant", "content": "Bonjour"}]
    assert json.loads(example.metadata) == {"category": "translation"}
    assert json.loads(example.warnings) == []


def test_alpaca_with_response_as_gpteacher_writes_it(tmp_path):
    example = one_example(tmp_path, {"instruction": "Name a colour.", "input": "", "response": "Blue."})
    assert messages(example) == [{"role": "user", "content": "Name a colour."},
                                 {"role": "assistant", "content": "Blue."}]
    assert json.loads(example.metadata) == {}


def test_alpaca_system_field_becomes_the_system_message(tmp_path):
    example = one_example(tmp_path, {"system": "Be terse.", "instruction": "2+2?", "output": "4"})
    assert messages(example) == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"},
                                 {"role": "assistant", "content": "4"}]


def test_prompt_completion(tmp_path):
    example = one_example(tmp_path, {"prompt": "Capital of France?", "completion": " Paris"})
    assert example.source_format == "prompt_completion"
    assert messages(example) == [{"role": "user", "content": "Capital of France?"},
                                 {"role": "assistant", "content": "Paris"}]


@pytest.mark.parametrize("record, code, reason", [
    ({"instruction": "Say hi", "output": ""}, "empty_record", "field 'output' is empty"),
    ({"instruction": "Say hi", "output": "  \n"}, "empty_record", "field 'output' is blank"),
    ({"instruction": ["Say", "hi"], "output": "hi"}, "wrong_type", "field 'instruction' must be text, got list"),
    ({"prompt": "p", "completion": None}, "empty_record", "field 'completion' is empty"),
])
def test_alpaca_faults(tmp_path, record, code, reason):
    assert one_reject(tmp_path, record) == (code, reason)


def test_numbers_are_text(tmp_path):
    example = one_example(tmp_path, {"instruction": "What is 6 times 7?", "output": 42})
    assert messages(example)[1] == {"role": "assistant", "content": "42"}


def test_format_chat_forced_on_an_alpaca_record_is_rejected(tmp_path):
    record = {"instruction": "Add", "input": "2 and 2", "output": "4"}
    assert one_reject(tmp_path, record, format="chat") == (
        "missing_key", "missing field 'messages' required by --format chat")


def test_format_alpaca_forced_on_a_text_record_names_the_fields_tried(tmp_path):
    assert one_reject(tmp_path, {"text": "hello"}, format="alpaca") == (
        "missing_key", "missing field 'instruction' or 'query' required by --format alpaca")


def test_explicit_field_mapping_picks_the_named_key(tmp_path):
    path = tmp_path / "mapped.jsonl"
    parsed = parse(path, jsonl({"body": "The body text.", "text": "not this one"}), fields={"text": "body"})
    assert parsed.rejects == []
    [doc] = parsed.documents
    assert (doc.kind, doc.text) == ("document", "The body text.")
    assert json.loads(doc.metadata) == {"text": "not this one"}


def test_explicit_field_mapping_to_alpaca_roles(tmp_path):
    example = one_example(tmp_path, {"question": "Why?", "reply": "Because."},
                          fields={"instruction": "question", "response": "reply"})
    assert messages(example) == [{"role": "user", "content": "Why?"}, {"role": "assistant", "content": "Because."}]


def test_explicit_field_mapping_to_a_missing_key_says_so(tmp_path):
    code, reason = one_reject(tmp_path, {"text": "hello"}, fields={"text": "body"})
    assert code == "unknown_shape"
    assert reason == ("no messages, instruction/response, prompt/completion, dialogue or text field among ['text'] "
                      "(--field text=body names no key of this record); map one with --field ROLE=NAME")


def test_messages_take_precedence_over_a_text_field(tmp_path):
    example = one_example(tmp_path, {"messages": [USER, ASSISTANT], "text": "summary"})
    assert example.source_format == "chat"
    assert json.loads(example.metadata) == {"text": "summary"}

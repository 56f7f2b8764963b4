"""Speaker-labelled text and subtitles become transcripts with (speaker, role, text) turns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curator.ingest.options import IngestOptions
from curator.ingest.readers import parse_task, plan_tasks, reader_for
from curator.ingest.records import Document, ParsedFile
from curator.ingest.transcript import looks_like_transcript, parse_turns, speaker_role

ROLES = {"doctor": "assistant", "patient": "user", "guest_family": "user"}


def parse(path: Path, data: str | bytes, **options) -> ParsedFile:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    merged = ParsedFile(str(path), "")
    opts = IngestOptions(**{"speaker_roles": ROLES, **options})
    for task in plan_tasks(path, reader_for(path), path.read_bytes(), 1 << 20):
        merged.extend(parse_task(task, opts))
    return merged


def only_document(parsed: ParsedFile) -> Document:
    assert parsed.rejects == [] and parsed.examples == []
    assert len(parsed.documents) == 1
    return parsed.documents[0]


def turns(doc: Document) -> list[tuple]:
    return [(t["speaker"], t["role"], t["text"]) for t in json.loads(doc.turns)]


# --- plain text -------------------------------------------------------------------------------

def test_colon_labelled_text_is_a_transcript_with_roles(tmp_path):
    path = tmp_path / "visit.txt"
    doc = only_document(parse(path, "Doctor: Hello, what brings you in?\r\nPatient: My knee hurts.\r\n"
                                    "It started on Monday.\r\nDoctor: Any swelling?\r\nPatient: No.\r\n"))
    assert doc.origin == f"{path}:1"
    assert doc.kind == "transcript"
    assert doc.title == "visit.txt"
    assert doc.text == ("Doctor: Hello, what brings you in?\nPatient: My knee hurts.\nIt started on Monday.\n"
                        "Doctor: Any swelling?\nPatient: No.")
    assert turns(doc) == [
        ("Doctor", "assistant", "Hello, what brings you in?"),
        ("Patient", "user", "My knee hurts.\nIt started on Monday."),
        ("Doctor", "assistant", "Any swelling?"),
        ("Patient", "user", "No."),
    ]
    assert json.loads(doc.metadata) == {"file_name": "visit.txt"}
    assert doc.n_words == 19  # whitespace-separated, labels included


def test_bracket_labels(tmp_path):
    doc = only_document(parse(tmp_path / "aci.txt", "[doctor] hi, how are you?\n[patient] not great.\n"
                                                   "[doctor] tell me more.\n[patient] my back.\n"))
    assert doc.kind == "transcript"
    assert turns(doc) == [("doctor", "assistant", "hi, how are you?"), ("patient", "user", "not great."),
                          ("doctor", "assistant", "tell me more."), ("patient", "user", "my back.")]


def test_label_variants_fall_back_to_their_base_speaker(tmp_path):
    text = "Doctor_2: Good morning.\n Doctor: I am the resident.\nguest_family2: He fell twice.\nPatient: Yes.\n"
    doc = only_document(parse(tmp_path / "family.txt", text))
    assert doc.kind == "transcript"
    assert turns(doc) == [("Doctor_2", "assistant", "Good morning."), ("Doctor", "assistant", "I am the resident."),
                          ("guest_family2", "user", "He fell twice."), ("Patient", "user", "Yes.")]


@pytest.mark.parametrize("label, role", [
    ("Doctor", "assistant"), ("doctor_2", "assistant"), ("Doctor 3", "assistant"), (" Doctor ", "assistant"),
    ("guest_family2", "user"), ("Guest-Family", None), ("guest_family_1", "user"), ("Doctor Smith", "assistant"),
    ("Nurse", None),
])
def test_speaker_role_lookup(label, role):
    assert speaker_role(label, ROLES) == role


def test_unknown_speakers_have_no_role(tmp_path):
    doc = only_document(parse(tmp_path / "talk.txt", "Alice: hi\nBob: hello\nAlice: bye\n"))
    assert turns(doc) == [("Alice", None, "hi"), ("Bob", None, "hello"), ("Alice", None, "bye")]


def test_short_exchange_of_known_roles_is_a_transcript(tmp_path):
    """Two speakers each heard once: the role map, not repetition, tells it is a dialogue."""
    doc = only_document(parse(tmp_path / "short.txt", "Doctor: How are you?\nPatient: Fine, thanks.\n"))
    assert doc.kind == "transcript"
    assert turns(doc) == [("Doctor", "assistant", "How are you?"), ("Patient", "user", "Fine, thanks.")]


def test_non_latin_speaker_labels(tmp_path):
    text = "Médico: ¿Qué le pasa?\nPaciente: Me duele.\nMédico: ¿Dónde?\n"
    doc = only_document(parse(tmp_path / "es.txt", text, speaker_roles={"médico": "assistant", "paciente": "user"}))
    assert turns(doc) == [("Médico", "assistant", "¿Qué le pasa?"), ("Paciente", "user", "Me duele."),
                          ("Médico", "assistant", "¿Dónde?")]


def test_headings_each_used_once_stay_a_document(tmp_path):
    text = ("# Glossary\n\nTerm: consideration\nDefinition: something of value exchanged\n"
            "Example: payment for goods\nNote: required for a binding contract\n")
    doc = only_document(parse(tmp_path / "glossary.md", text))
    assert doc.kind == "document"
    assert doc.turns is None
    assert doc.text == text.strip()


def test_prose_with_a_colon_stays_a_document(tmp_path):
    text = "Meeting notes\n\nThe plan is simple: ship on Friday.\nEveryone agreed at 10:30 am.\n"
    assert only_document(parse(tmp_path / "notes.txt", text)).kind == "document"


def test_format_text_forces_a_document(tmp_path):
    doc = only_document(parse(tmp_path / "t.txt", "Doctor: a\nPatient: b\nDoctor: c\n", format="text"))
    assert (doc.kind, doc.turns) == ("document", None)


def test_unlabelled_opening_lines_are_a_turn_without_speaker():
    assert [t.as_dict() for t in parse_turns("Recording starts.\nDoctor: Hi.\n\nPatient: Hey.", ROLES)] == [
        {"speaker": None, "role": None, "text": "Recording starts."},
        {"speaker": "Doctor", "role": "assistant", "text": "Hi."},
        {"speaker": "Patient", "role": "user", "text": "Hey."},
    ]


def test_label_alone_on_its_line_takes_the_next_lines():
    assert [t.as_dict() for t in parse_turns("Doctor:\nHow are you?\nPatient: ok", ROLES)] == [
        {"speaker": "Doctor", "role": "assistant", "text": "How are you?"},
        {"speaker": "Patient", "role": "user", "text": "ok"},
    ]


def test_declared_dialogue_needs_only_labels():
    assert looks_like_transcript("Nurse: one line", declared=True)
    assert not looks_like_transcript("Nurse: one line")
    assert not looks_like_transcript("no labels here\nnone at all", declared=True)


# --- subtitles --------------------------------------------------------------------------------

VTT_VOICES = """WEBVTT
Kind: captions
Language: en

NOTE recorded in clinic 4,
two speakers

STYLE
::cue(v[voice="Doctor"]) { color: blue }

1
00:00:01.000 --> 00:00:03.000
<v Doctor>Good morning.</v>

2
00:00:03.000 --> 00:00:05.500 align:start position:10%
<v Doctor>What brings you in
today?

00:00:05.500 --> 00:00:08.000
<v.loud Patient>My <i>knee</i> &amp; my hip.

00:01:08.000 --> 00:01:09.000
<v Doctor Smith>Let me see.
"""


def test_vtt_voice_tags_merge_consecutive_cues_of_one_speaker(tmp_path):
    path = tmp_path / "visit.vtt"
    doc = only_document(parse(path, VTT_VOICES))
    assert (doc.origin, doc.kind, doc.title) == (f"{path}:1", "transcript", "visit.vtt")
    assert turns(doc) == [
        ("Doctor", "assistant", "Good morning. What brings you in today?"),
        ("Patient", "user", "My knee & my hip."),
        ("Doctor Smith", "assistant", "Let me see."),
    ]
    assert doc.text == "Doctor: Good morning. What brings you in today?\nPatient: My knee & my hip.\n" \
                       "Doctor Smith: Let me see."
    assert json.loads(doc.metadata) == {"file_name": "visit.vtt", "cues_format": "vtt"}
    assert "NOTE" not in doc.text and "captions" not in doc.text and "color" not in doc.text


def test_vtt_name_prefixes(tmp_path):
    text = ("WEBVTT\n\n00:01.000 --> 00:03.000\nDoctor: Hello.\n\n00:03.000 --> 00:04.000\nDoctor: Sit down.\n\n"
            "00:04.000 --> 00:06.000\nPatient: Thanks.\n\n00:06.000 --> 00:07.000\nDoctor: So.\n")
    assert turns(only_document(parse(tmp_path / "p.vtt", text))) == [
        ("Doctor", "assistant", "Hello. Sit down."), ("Patient", "user", "Thanks."), ("Doctor", "assistant", "So.")]


SRT = ("1\r\n00:00:01,000 --> 00:00:02,500\r\nDoctor: Hi.\r\n\r\n"
       "2\r\n00:00:02,500 --> 00:00:04,000\r\nDoctor: What brings you in?\r\n\r\n"
       "3\r\n00:00:04,000 --> 00:00:06,000\r\n{\\an8}Patient: A cough,\r\nfor a week.\r\n\r\n"
       "4\r\n00:00:06,000 --> 00:00:07,000\r\n- Doctor: Any fever?\r\n- Patient: No.\r\n")


def test_srt_merges_cues_and_keeps_wrapped_lines_with_their_speaker(tmp_path):
    path = tmp_path / "visit.srt"
    doc = only_document(parse(path, SRT))
    assert turns(doc) == [
        ("Doctor", "assistant", "Hi. What brings you in?"),
        ("Patient", "user", "A cough, for a week."),
        ("Doctor", "assistant", "Any fever?"),
        ("Patient", "user", "No."),
    ]
    assert json.loads(doc.metadata) == {"file_name": "visit.srt", "cues_format": "srt"}


def test_subtitles_without_speakers_are_one_turn(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nHello there.\n\n2\n00:00:02,000 --> 00:00:03,000\nGeneral Kenobi.\n"
    doc = only_document(parse(tmp_path / "plain.srt", text))
    assert turns(doc) == [(None, None, "Hello there. General Kenobi.")]
    assert doc.text == "Hello there. General Kenobi."


def test_subtitles_without_cues_are_rejected(tmp_path):
    path = tmp_path / "empty.vtt"
    parsed = parse(path, "WEBVTT\n\nNOTE nothing was said\n")
    assert parsed.documents == []
    assert [(r.origin, r.code) for r in parsed.rejects] == [(f"{path}:1", "empty_record")]


def test_subtitle_file_over_the_record_limit_is_rejected(tmp_path):
    path = tmp_path / "long.srt"
    parsed = parse(path, SRT, max_record_bytes=50)
    assert [(r.origin, r.code) for r in parsed.rejects] == [(f"{path}:1", "too_large")]

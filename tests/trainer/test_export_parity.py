"""The hand-off from training to serving on a tiny local model (CPU, one thread): the merged folder,
loaded fresh through transformers' public loading code with its own chat template, answers the test
prompts token for token as the adapter did; a planted template mismatch fails the export stage
with the first differing prompt; the Modelfile's template, rendered faithfully, equals the Jinja
chat template's rendering; the vLLM command names the template file; the run card loads as a
Hugging Face ``ModelCard``."""

from __future__ import annotations

import json
import os
import shutil

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from trainer_data import CHATML, SYSTEM, build_tiny_model, routing_examples  # noqa: E402

torch.set_num_threads(1)
pytestmark = pytest.mark.slow  # the fast lane (-m "not slow") leaves the trainer out

# a template of another family (Zephyr-style markers, the answer closed by the eos token)
ZEPHYR = ("{% for message in messages %}{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|im_end|>\n' }}"
          "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}")
# planted: the exported folder says "instructions" where training said "system"
PLANTED = CHATML.replace("'<|im_start|>' + message['role']",
                         "'<|im_start|>' + ('instructions' if message['role'] == 'system' else message['role'])")


@pytest.fixture(scope="module")
def merged(tmp_path_factory, shared_data):
    """A tiny base, a LoRA adapter with random (non-zero) weights saved as training saves one, its
    greedy answers on test prompts (the evaluation stage's), and the merged folder."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from trainer.config import TrainConfig
    from trainer.evaluate import generate, test_prompts
    from trainer.merge import merge_adapter
    from trainer.model import load_tokenizer

    root = tmp_path_factory.mktemp("parity")
    examples = routing_examples(shared_data, per_class=10)
    model_dir = build_tiny_model(root / "base", [m[0]["content"] for m in examples] + [SYSTEM, "account order refund"])
    config = TrainConfig(system_prompt=SYSTEM, load_in_4bit=False, max_seq_length=128, eval_max_new_tokens=5)
    tokenizer = load_tokenizer(str(model_dir), config)
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    adapter = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False,
                                              task_type="CAUSAL_LM"))
    adapter.save_pretrained(root / "adapter")
    prompts, references = test_prompts(examples[:12], SYSTEM)
    answers = generate(adapter, tokenizer, prompts, config.eval_max_new_tokens)
    out = merge_adapter(str(model_dir), root / "adapter", root / "merged", config, tokenizer)
    return {"root": root, "base": model_dir, "config": config, "tokenizer": tokenizer, "prompts": prompts,
            "references": references, "answers": answers, "merged": out}


def test_the_exported_folder_answers_as_the_adapter_did(merged):
    from trainer.merge import export_parity

    parity = export_parity(merged["merged"], merged["prompts"], merged["answers"], merged["tokenizer"], 5)
    assert parity["prompts"] == len(merged["prompts"]) == 12
    assert parity["ok"] and parity["template_identical"] and parity["matched"] == 12 and parity["differing"] == []
    assert parity["outputs"] == merged["answers"] and len(set(merged["answers"])) > 1  # not one constant answer


def test_a_planted_template_mismatch_fails_the_export_stage(merged, tmp_path):
    from transformers import AutoTokenizer

    from trainer.errors import TrainerError
    from trainer.stages import Data, Evaluation, Run, check_parity

    planted = tmp_path / "merged"
    shutil.copytree(merged["merged"], planted)
    tokenizer = AutoTokenizer.from_pretrained(planted)
    tokenizer.chat_template = PLANTED
    tokenizer.save_pretrained(planted)
    run = Run(export=None, export_dir=tmp_path, base_model=str(merged["base"]), config=merged["config"],
              run_dir=tmp_path, name="planted", status=None, tracking=None)
    ev = Evaluation(merged["prompts"], merged["references"], table=[{"tuned_output": a} for a in merged["answers"]])
    result = {"quantized": False}
    with pytest.raises(TrainerError, match=r"export parity failed: .* its chat template renders them differently; "
                                           r"first, test prompt 0 "):
        check_parity(run, Data(merged["tokenizer"], None, {}, []), tmp_path / "adapter", ev, result, planted)
    recorded = json.loads((tmp_path / "parity.json").read_text())
    assert recorded == result["parity"] and not recorded["ok"] and not recorded["template_identical"]
    assert recorded["first_difference"]["index"] == 0 and recorded["first_difference"]["template_differs"]
    assert recorded["first_difference"]["prompt"] == merged["prompts"][0][-1]["content"]


@pytest.mark.parametrize("template", [CHATML, ZEPHYR], ids=["chatml", "zephyr"])
def test_modelfile_template_renders_as_the_chat_template(merged, template, tmp_path):
    from transformers import AutoTokenizer

    from trainer.merge import (modelfile, ollama_messages, ollama_template, render_go_template, stop_tokens,
                               template_parts)

    folder = tmp_path / "model"
    shutil.copytree(merged["merged"], folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.chat_template = template
    conversation = [{"role": "user", "content": "My card was charged twice, who do I ask?"},
                    {"role": "assistant", "content": "refund"},
                    {"role": "user", "content": "And to change the delivery address?"}]
    text = modelfile(folder, merged["config"], tokenizer, SYSTEM)
    go = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    assert go == ollama_template(template_parts(tokenizer))
    as_ollama = render_go_template(go, ollama_messages(conversation, SYSTEM))
    as_jinja = tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM}, *conversation], tokenize=False,
                                             add_generation_prompt=True)
    assert as_ollama == as_jinja
    assert stop_tokens(tokenizer, template_parts(tokenizer)) == ["<|im_end|>"]
    assert text.count("PARAMETER stop") == 1 and 'PARAMETER stop "<|im_end|>"' in text
    # the check has teeth: a template rendered for another role order does not compare equal
    assert render_go_template(go, conversation) != as_jinja


def test_vllm_command_names_the_chat_template_file(merged):
    from trainer.merge import CHAT_TEMPLATE_FILE, vllm_command

    command = vllm_command(merged["merged"], "routing-1", merged["config"])
    template = merged["merged"].resolve() / CHAT_TEMPLATE_FILE
    assert f"--chat-template {template}" in command and template.read_text() == CHATML


def test_run_card_loads_as_a_model_card(merged):
    from huggingface_hub import ModelCard

    from trainer.card import run_card
    from trainer.merge import export_parity

    parity = export_parity(merged["merged"], merged["prompts"], merged["answers"], merged["tokenizer"], 5)
    parity.pop("outputs")
    scores = {"exact_match": 0.25, "token_f1": 0.5, "rouge_l": 0.5}
    result = {"name": "routing-1-run1", "base_model": str(merged["base"]), "quantization": "plain LoRA",
              "quantized": False, "parity": parity | {"reference": "the adapter's evaluation answers (same weights)"},
              "training": {"global_step": 10, "max_steps": 10, "stopped_early": False, "best_eval_loss": 0.5,
                           "train_seconds": 1.0},
              "eval": {"n": 12, "base": {k: 0.0 for k in scores}, "tuned": scores, "merged": scores,
                       "base_eval_loss": 4.0}}
    manifest = {"ref": "routing@1", "name": "routing", "version_id": 1, "content_hash": "ab" * 32,
                "approved_by": "cli:steward", "splits": {"test": {"count": 12}},
                "files": {"README.md": "cd" * 32, "test.jsonl": "ef" * 32}}
    text = run_card(result, merged["config"].model_dump(mode="json"), manifest, {"lines": ["ok"]}, [], None, None)
    card = ModelCard(text)
    assert card.data.base_model == str(merged["base"]) and card.data.pipeline_tag == "text-generation"
    assert card.data.curator["dataset_card_sha256"] == "cd" * 32
    assert card.data.curator["training_config"]["lora_r"] == merged["config"].lora_r
    assert card.data.curator["export_parity"] == {"ok": True, "prompts": 12, "matched": 12,
                                                  "reference": "the adapter's evaluation answers (same weights)"}
    assert {(r.metric_type, r.metric_value) for r in card.data.eval_results} == set(scores.items())
    assert "answered **12 of 12** test prompts exactly" in card.content and "| exact_match | 0.000 | 0.250 |" in text
    path = merged["root"] / "README.md"
    path.write_text(text, encoding="utf-8")
    assert ModelCard.load(path).data.to_dict()["curator"] == card.data.curator

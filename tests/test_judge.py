"""LLM judges (issue 17): a tiny random Phi-3 with a tokenizer built here, loaded through
``Classifier.from_pretrained`` and scored from its answer logits; the cascade; the errors.

No mocks: P(toxic) is checked against a forward pass computed by hand from the same weights.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import voicesafety as vs
from voicesafety.cli import main as cli_main

WORDS = (
    "you are a an the is it this text toxic non - examine say answer or not word trash idiot "
    "good game well played gg hello friend team we win lose stupid noob love nice thanks "
    "please help me with that [ ] . , : ! ?"
).split()
CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}<|system|> {{ m['content'] }} <|end|> "
    "{% else %}<|user|> {{ m['content'] }} <|end|> {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
SPECIALS = ["<pad>", "<unk>", "<|user|>", "<|system|>", "<|end|>", "<|assistant|>"]
SHORT_PROMPT = {"template": "examine this text : [ {text} ] toxic or non - toxic ? answer :",
                "positive": "toxic", "negative": "non-toxic", "max_new_tokens": 6}


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   eos_token="<|end|>", additional_special_tokens=SPECIALS[2:])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_judge(folder: Path, *, prompt: dict | None = SHORT_PROMPT, positions: int = 512,
                seed: int = 0) -> Path:
    """A tiny random Phi3ForCausalLM judge with its tokenizer (and judge.json prompt)."""
    from transformers import Phi3Config, Phi3ForCausalLM

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    config = Phi3Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                        max_position_embeddings=positions, pad_token_id=0,
                        bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                        initializer_range=0.15)  # larger weights: scores spread away from 0.5
    Phi3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if prompt is not None:
        (folder / "judge.json").write_text(json.dumps(prompt))
    return folder


@pytest.fixture(scope="module")
def judge_dir(tmp_path_factory):
    return build_judge(tmp_path_factory.mktemp("judge") / "phi3")


@pytest.fixture(scope="module")
def judge(judge_dir):
    return vs.Classifier.from_pretrained(judge_dir, device="cpu")


TEXTS = ["you are a stupid noob", "good game well played", "gg", "hello friend , thanks !",
         "you are trash and an idiot , this is not a nice game please help me with that text",
         "we lose"]


def hand_p_toxic(folder: Path, text: str, template: str = SHORT_PROMPT["template"]) -> float:
    """P(toxic) by hand: one unpadded forward pass per answer, log-softmax sums."""
    from transformers import AutoTokenizer, Phi3ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = Phi3ForCausalLM.from_pretrained(str(folder)).eval()
    content = template.replace("{text}", text)
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": content}],
                                             add_generation_prompt=True, tokenize=False)
    prompt = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    lps = []
    for answer in ("toxic", "non-toxic"):
        ans = tokenizer(answer, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([prompt + ans])).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        lps.append(sum(float(logp[len(prompt) - 1 + j, t]) for j, t in enumerate(ans)))
    return math.exp(lps[0]) / (math.exp(lps[0]) + math.exp(lps[1]))


# ------------------------------------------------------------------ loading and scoring


def test_a_causal_lm_folder_loads_as_a_judge_with_one_label(judge):
    assert judge.modalities == ("text",)
    assert judge.text_labels == ["toxic"] and judge.toxic_labels == ["toxic"]
    assert judge.backend == "torch" and judge.device == "cpu"
    assert judge.text.judge is not None
    assert judge.text.judge.prompt.template == SHORT_PROMPT["template"]  # from judge.json
    r = judge.score_text("you are a stupid noob")
    assert isinstance(r, vs.TextResult)
    assert set(r.scores) == {"toxic"} and r.toxicity == r.scores["toxic"]
    assert 0.0 < r.toxicity < 1.0 and r.explanation is None and not r.truncated
    assert r.flagged == (r.toxicity >= 0.5)


def test_answers_are_scored_over_all_their_tokens(judge):
    encoder = judge.text.judge
    assert encoder is not None
    tok = judge.text.tokenizer
    assert encoder.answer_ids == [tok("toxic", add_special_tokens=False)["input_ids"],
                                  tok("non-toxic", add_special_tokens=False)["input_ids"]]
    assert len(encoder.answer_ids[1]) == 3  # non - toxic: the multi-token path is exercised


def test_p_toxic_equals_a_hand_computed_forward_pass(judge, judge_dir):
    results = judge.score_text(TEXTS)
    expected = [hand_p_toxic(judge_dir, t) for t in TEXTS]
    got = [r.toxicity for r in results]
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert max(expected) - min(expected) > 1e-3  # the texts really get different scores


def test_batch_equals_single_whatever_the_batch(judge):
    singles = [judge.score_text(t).toxicity for t in TEXTS]
    for size in (1, 2, 4, 16):
        batch = [r.toxicity for r in judge.score_text(TEXTS, batch_size=size)]
        np.testing.assert_allclose(batch, singles, atol=1e-5, rtol=0)  # fp32 sums
    # and with other company in the call: reversed order, a duplicate, a blank
    mixed = judge.score_text(["", *TEXTS[::-1], TEXTS[0]], batch_size=3)
    np.testing.assert_allclose([r.toxicity for r in mixed[1:-1]], singles[::-1], atol=1e-5)
    assert mixed[0].toxicity == 0.0 and mixed[0].num_tokens == 0 and not mixed[0].flagged
    assert abs(mixed[-1].toxicity - singles[0]) < 1e-5


def test_tensor_output_matches_results(judge):
    tensor = judge.score_text(TEXTS, as_tensor=True)
    assert tuple(tensor.shape) == (len(TEXTS), 1)
    np.testing.assert_allclose(tensor[:, 0].numpy(),
                               [r.toxicity for r in judge.score_text(TEXTS)], atol=1e-6)


def test_the_prompt_holds_the_text_exactly_once(judge):
    encoder = judge.text.judge
    text = "you are a stupid noob"
    rendered = encoder.render(text)
    assert rendered.count(text) == 1
    assert rendered.startswith("<|user|> examine this text")
    assert rendered.endswith("<|assistant|> ")  # the answer comes next
    ids = encoder.encode(text, None).ids
    assert judge.score_text(text).num_tokens == len(ids)


def test_the_prompt_can_be_overridden(judge_dir):
    template = "is this text toxic ? [ {text} ]"
    other = vs.Classifier.from_pretrained(judge_dir, device="cpu", prompt=template)
    assert other.text.judge.prompt.template == template
    got = other.score_text("we lose").toxicity
    assert abs(got - hand_p_toxic(judge_dir, "we lose", template)) < 1e-5
    with pytest.raises(vs.InvalidInputError, match="exactly once"):
        vs.JudgePrompt(template="no slot here")


def test_long_texts_are_cut_in_the_middle_and_say_so(judge):
    encoder = judge.text.judge
    head, tail = "hello friend", "we win"
    long_text = head + " " + " ".join(["good game"] * 300) + " " + tail
    r = judge.score_text(long_text)
    assert r.truncated and r.num_tokens <= 512 - 3  # the model's 512 positions, answer kept
    given = encoder.encode(long_text, encoder.limit(None))
    assert given.truncated and given.text.startswith(head) and given.text.endswith(tail)
    assert "[...]" in given.text
    rendered = encoder.render(given.text)
    # the prompt around the text is whole
    assert rendered.startswith("<|user|> examine this text : [ hello friend")
    assert rendered.endswith("we win ] toxic or non - toxic ? answer : <|end|> <|assistant|> ")
    # a user max_length cuts too, and the short texts stay whole
    limited = judge.score_text([long_text, "we lose"], max_length=40)
    assert limited[0].truncated and limited[0].num_tokens <= 40 - 3
    assert not limited[1].truncated
    with pytest.raises(vs.InvalidInputError, match="no room"):
        judge.score_text("we lose", max_length=5)


def test_explain_generates_the_reason(judge):
    results = judge.score_text(["you are a stupid noob", "gg"], explain=True)
    for r in results:
        assert isinstance(r.explanation, str)
        assert len(judge.text.tokenizer(r.explanation)["input_ids"]) <= 6  # max_new_tokens
    plain = judge.score_text(["you are a stupid noob", "gg"])
    assert [r.toxicity for r in plain] == [r.toxicity for r in results]  # score not from text
    assert any(r.explanation for r in results)  # a random model still says something


def test_cli_text_command_runs_a_judge(judge_dir, capsys):
    code = cli_main(["text", "--model", str(judge_dir), "--device", "cpu", "--json", "--explain",
                     "you are a stupid noob"])
    assert code == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(row["scores"]) == {"toxic"} and isinstance(row["explanation"], str)


# ------------------------------------------------------------------ cascade


class CountingJudge:
    """The real judge, counting the texts it is asked about (a wrapper, not a mock)."""

    def __init__(self, inner: vs.Classifier) -> None:
        self.inner = inner
        self.name = inner.name
        self.asked: list[str] = []

    def score_text(self, text, **kwargs):
        self.asked.extend(text)
        return self.inner.score_text(text, **kwargs)


STREAM = ["gg", "good game well played", "you are a worthless idiot", "thanks team",
          "shut up you stupid noob", "nice shot", "i will find you and hurt you", "hello",
          "you are trash", "see you tomorrow"]


def test_cascade_asks_the_judge_only_about_flagged_or_unsure_texts(judge):
    fast = vs.Classifier.from_pretrained(device="cpu")
    first = fast.score_text(STREAM)
    band = (0.05, 0.7)
    expected = [t for t, r in zip(STREAM, first) if r.flagged or band[0] <= r.toxicity <= 0.7]
    assert 0 < len(expected) < len(STREAM)  # some asked, some not: the test can fail
    counting = CountingJudge(judge)
    cascade = vs.Cascade(fast, counting, band=band)
    results = cascade.score_text(STREAM)
    assert counting.asked == expected
    judge_alone = {t: r.toxicity for t, r in zip(expected, judge.score_text(expected))}
    for text, r, f in zip(STREAM, results, first):
        assert isinstance(r, vs.CascadeResult)
        assert r.fast.toxicity == f.toxicity  # both opinions kept
        if text in judge_alone:
            assert r.asked_judge and r.judge is not None
            assert abs(r.toxicity - judge_alone[text]) < 1e-6
            assert r.flagged == r.judge.flagged
        else:
            assert not r.asked_judge and r.toxicity == f.toxicity and r.flagged == f.flagged
        assert list(r.scores) == ["toxic"] and r.flags == (["toxic"] if r.flagged else [])
    # results print, and serialise with both opinions
    assert "toxic" in str(results)
    row = results[0].to_dict()
    assert row["fast"]["toxicity"] == first[0].toxicity and "judge" in row
    # flagged-only cascade: the judge sees exactly what the fast model flags
    only = CountingJudge(judge)
    vs.Cascade(fast, only, band=None).score_text(STREAM)
    assert only.asked == [t for t, r in zip(STREAM, first) if r.flagged]


def test_cascade_is_a_text_scorer_usable_as_teacher_and_stage(judge):
    fast = vs.Classifier.from_pretrained(device="cpu")
    cascade = vs.Cascade(fast, judge, band=(0.0, 1.0))  # everything goes to the judge
    single = cascade.score_text("you are trash")
    assert isinstance(single, vs.CascadeResult) and single.asked_judge
    assert cascade.labels == ["toxic"]
    # a cascade is itself a stage: nested, the outer judge sees what the inner one returns
    outer = vs.Cascade(cascade, judge, band=None)
    assert len(outer.score_text(STREAM)) == len(STREAM)
    # as a teacher: soft labels for every text, one column
    targets = np.array([[r.scores[label] for label in cascade.labels]
                        for r in cascade.score_text(STREAM)])
    assert targets.shape == (len(STREAM), 1) and ((0 <= targets) & (targets <= 1)).all()
    with pytest.raises(vs.InvalidInputError, match="band"):
        vs.Cascade(fast, judge, band=(0.8, 0.2))
    with pytest.raises(vs.InvalidInputError, match="score_text"):
        vs.Cascade(fast, object())


# ------------------------------------------------------------------ errors and other forms


def test_judges_run_on_torch_only(judge_dir):
    for backend in ("onnx", "onnx-int8", "torchscript"):
        with pytest.raises(vs.BackendError, match="torch"):
            vs.Classifier.from_pretrained(judge_dir, device="cpu", backend=backend)


def test_explain_and_prompt_are_for_judges_only():
    clf = vs.Classifier.from_pretrained(device="cpu")
    with pytest.raises(vs.InvalidInputError, match="LLM judge"):
        clf.score_text("gg", explain=True)
    with pytest.raises(vs.ModelLoadError, match="prompt= is for LLM judges"):
        vs.Classifier.from_pretrained(device="cpu", prompt="is {text} toxic?")


def test_a_judge_without_a_chat_template_is_refused_clearly(tmp_path):
    folder = build_judge(tmp_path / "nochat")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    for f in folder.glob("chat_template*"):
        f.unlink()
    with pytest.raises(vs.ModelLoadError, match="chat template"):
        vs.Classifier.from_pretrained(folder, device="cpu")


def test_the_registry_knows_the_phi3_judge_and_its_prompt(tmp_path):
    from voicesafety.registry import lookup

    entry = lookup("grounded-ai/phi3-toxicity-judge")
    assert entry is not None and entry.judge_prompt is not None
    assert entry.labels == ("toxic",)
    assert '"toxic" or "non-toxic"' in entry.judge_prompt.template
    # a local copy named like the repo gets the registry's prompt (not the folder's default)
    folder = build_judge(tmp_path / "phi3-toxicity-judge", prompt=None, positions=1024)
    clf = vs.Classifier.from_pretrained(folder, device="cpu")
    assert clf.text.judge.prompt == entry.judge_prompt
    assert clf.text.spec.name == "grounded-ai/phi3-toxicity-judge"
    rendered = clf.text.judge.render("gg")
    assert rendered.count("gg") == 1 and "[BEGIN DATA]" in rendered


def test_a_peft_adapter_folder_loads_on_its_base_model(tmp_path, judge_dir):
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import Phi3ForCausalLM

    base = Phi3ForCausalLM.from_pretrained(str(judge_dir))
    torch.manual_seed(1)
    lora = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["qkv_proj", "o_proj"],
                                           init_lora_weights=False))
    adapter = tmp_path / "adapter"
    lora.save_pretrained(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(judge_dir)
    shutil.copy(judge_dir / "judge.json", adapter / "judge.json")
    # the reference: the same adapter merged by hand and saved as a plain checkpoint
    merged = tmp_path / "merged"
    lora.merge_and_unload().save_pretrained(merged)
    for f in judge_dir.iterdir():
        if f.name.startswith(("tokenizer", "special", "chat", "judge")):
            shutil.copy(f, merged / f.name)

    from_adapter = vs.Classifier.from_pretrained(adapter, device="cpu")  # tokenizer: the base's
    got = [r.toxicity for r in from_adapter.score_text(TEXTS)]
    expected = [hand_p_toxic(merged, t) for t in TEXTS]
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    plain = [hand_p_toxic(judge_dir, t) for t in TEXTS]
    assert max(abs(a - b) for a, b in zip(got, plain)) > 1e-3  # the adapter changed the judge


def test_peft_missing_says_which_extra(tmp_path):
    import importlib.util

    if importlib.util.find_spec("peft") is not None:
        pytest.skip("peft is installed; this checks the message without it")
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "x"}))
    with pytest.raises(vs.MissingDependencyError, match=r"voicesafety\[judge\]"):
        vs.Classifier.from_pretrained(folder, device="cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_judge_on_cuda_scores_as_on_cpu(judge, judge_dir):
    gpu = vs.Classifier.from_pretrained(judge_dir, device="cuda")
    assert gpu.device.startswith("cuda")
    np.testing.assert_allclose([r.toxicity for r in gpu.score_text(TEXTS)],
                               [r.toxicity for r in judge.score_text(TEXTS)], atol=1e-4)
    assert isinstance(gpu.score_text("gg", explain=True).explanation, str)


def test_a_judge_evaluates_like_any_text_model(judge, tmp_path):
    pytest.importorskip("sklearn")
    data = tmp_path / "data.csv"
    data.write_text("text,labels\n" + "\n".join(
        f'"{t}",{"toxic" if i % 2 else "none"}' for i, t in enumerate(TEXTS)) + "\n")
    report = vs.evaluate(judge, data, modality="text")
    assert "toxic" in report.summary()


def test_a_judge_has_no_differentiable_head(judge):
    with pytest.raises(vs.ModelLoadError, match="LLM judge.*text classifier"):
        judge.text_module()

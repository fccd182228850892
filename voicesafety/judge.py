"""Scoring texts with an LLM judge: prompt → chat template → answer likelihoods → P(toxic).

A judge (a causal LM such as the Phi-3 toxicity judge) is asked the question of its
:class:`~voicesafety.prompts.JudgePrompt` about each text. Nothing it writes is parsed: each
of the two answers (``"toxic"``, ``"non-toxic"``) is scored by its full-sequence
log-likelihood after the prompt (every token of the answer, as the tokenizer splits it in
context), and ::

    P(toxic) = exp(lp_toxic) / (exp(lp_toxic) + exp(lp_non_toxic))
             = sigmoid(lp_toxic - lp_non_toxic)

normalised over the two answers only (probability the model gives to other words is ignored).

Prompts are batched with LEFT padding (position ids start at each row's first real token),
sorted by length, so a text's score does not depend on the other texts of the call. A text
too long for the model's context is cut in its middle (the prompt and the answer are never
cut) and its result says ``truncated=True``. ``explain=True`` also generates the judge's
answer greedily (at most ``prompt.max_new_tokens`` tokens) into ``result.explanation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import BackendError, InvalidInputError
from .policy import ThresholdPolicy
from .prompts import JudgePrompt
from .results import ModelInfo, TextResult
from .scoring import aggregate
from .spec import ModelSpec
from .text import batches_by_length

if TYPE_CHECKING:  # imports torch: only when a judge runs
    from .backends.causal_lm import CausalLMBackend

#: What replaces the middle of a text cut to fit the context (the judge sees that text is
#: missing there).
CUT_MARK = " [...] "


@dataclass(frozen=True)
class JudgeInput:
    """One text as the judge sees it: prompt token ids, and whether the text was cut."""

    ids: list[int]
    truncated: bool
    text: str  # the text in the prompt (the original, or its head and tail around CUT_MARK)


class JudgeEncoder:
    """Renders texts into the judge's chat prompt and tokenises it.

    ``answer_ids`` are the token ids of each answer as they follow the prompt (tokenised in
    context: the prompt followed by the answer, minus the prompt's own tokens).
    """

    def __init__(self, tokenizer: Any, prompt: JudgePrompt, max_length: int | None) -> None:
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.max_length = max_length
        self.answer_ids = [self._answer_ids(a) for a in prompt.answers]
        if self.answer_ids[0] == self.answer_ids[1]:
            raise InvalidInputError(
                f"the judge's answers {prompt.answers} tokenise alike; choose answers that "
                "differ in their tokens")
        self.overhead = len(self.tokens(self.render("")))
        pad = getattr(tokenizer, "pad_token_id", None)
        eos = getattr(tokenizer, "eos_token_id", None)
        self.pad_id = int(pad if isinstance(pad, int) else eos if isinstance(eos, int) else 0)

    def render(self, text: str) -> str:
        """The full prompt string for ``text`` (chat template applied, generation prompt
        added: what comes next is the judge's answer)."""
        return str(self.tokenizer.apply_chat_template(
            self.prompt.messages(text), add_generation_prompt=True, tokenize=False))

    def tokens(self, rendered: str) -> list[int]:
        """Token ids of a rendered prompt (the chat template writes the special tokens)."""
        return list(self.tokenizer(rendered, add_special_tokens=False)["input_ids"])

    def _answer_ids(self, answer: str) -> list[int]:
        base = self.render("x")
        prompt_ids = self.tokens(base)
        full = self.tokens(base + answer)
        if full[: len(prompt_ids)] == prompt_ids and len(full) > len(prompt_ids):
            return full[len(prompt_ids):]
        ids = list(self.tokenizer(answer, add_special_tokens=False)["input_ids"])
        if not ids:
            raise InvalidInputError(f"the judge's answer {answer!r} tokenises to nothing")
        return ids

    def limit(self, max_length: int | None) -> int | None:
        """The prompt token limit for a call: the smaller of ``max_length`` and the model's,
        minus the longest answer (the answer must fit in the context too)."""
        if max_length is not None and (isinstance(max_length, bool)
                                       or not isinstance(max_length, int) or max_length < 1):
            raise InvalidInputError(
                f"max_length must be a positive integer (tokens), got {max_length!r}")
        limits = [x for x in (max_length, self.max_length) if x is not None]
        if not limits:
            return None
        limit = min(limits) - max(len(a) for a in self.answer_ids)
        if limit <= self.overhead:
            raise InvalidInputError(
                f"max_length={min(limits)} leaves no room for text: the judge's prompt takes "
                f"{self.overhead} tokens and its answers up to "
                f"{max(len(a) for a in self.answer_ids)}; use a larger max_length")
        return limit

    def encode(self, text: str, limit: int | None) -> JudgeInput:
        """The prompt for ``text``, its middle cut when the prompt would pass ``limit``."""
        ids = self.tokens(self.render(text))
        if limit is None or len(ids) <= limit:
            return JudgeInput(ids, False, text)
        budget = limit - self.overhead - len(self.tokens(CUT_MARK))
        for _ in range(8):  # re-tokenising the joined text can differ by a token or two
            cut = self._cut_middle(text, max(budget, 0))
            ids = self.tokens(self.render(cut))
            if len(ids) <= limit:
                return JudgeInput(ids, True, cut)
            budget -= len(ids) - limit
        raise InvalidInputError(  # pragma: no cover - tokenizers that never shrink
            f"could not fit the text into the judge's {limit}-token prompt")

    def _cut_middle(self, text: str, budget: int) -> str:
        """The text's first and last ``budget / 2`` tokens around :data:`CUT_MARK`."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        head_n = (budget + 1) // 2
        tail_n = budget - head_n
        head = text[: offsets[head_n - 1][1]] if head_n > 0 else ""
        tail = text[offsets[len(offsets) - tail_n][0]:] if tail_n > 0 else ""
        return head.rstrip() + CUT_MARK + tail.lstrip()


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)`` int64 arrays, LEFT-padded to the longest row (the
    answer follows every prompt at the same, last position)."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            ids[i, width - len(row):] = row
            mask[i, width - len(row):] = 1
    return ids, mask


def judge_logprobs(inputs: Sequence[JudgeInput], encoder: JudgeEncoder,
                   backend: CausalLMBackend, batch_size: int,
                   bar: Any = None) -> np.ndarray:
    """``[n, 2]`` log-likelihoods of the (positive, negative) answers after each prompt."""
    out = np.zeros((len(inputs), 2), dtype=np.float64)
    for batch in batches_by_length([len(x.ids) for x in inputs], batch_size):
        ids, mask = left_pad([inputs[i].ids for i in batch], encoder.pad_id)
        out[batch] = backend.answer_logprobs(ids, mask, encoder.answer_ids)
        if bar is not None:
            bar.update(len(batch))
    if not np.isfinite(out).all():
        raise BackendError("the judge returned NaN or infinite log-likelihoods: a broken "
                           "model (or fp16 overflow; try float32 or bfloat16)")
    return out


def p_toxic(logprobs: np.ndarray) -> np.ndarray:
    """P(positive answer) normalised over the two answers: ``sigmoid(lp_pos - lp_neg)``."""
    diff = logprobs[:, 0] - logprobs[:, 1]
    e = np.exp(-np.abs(diff))
    return np.where(diff >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def explain(inputs: Sequence[JudgeInput], encoder: JudgeEncoder, backend: CausalLMBackend,
            batch_size: int) -> list[str]:
    """The judge's own greedy answer to each prompt (its verdict word and reason)."""
    texts = [""] * len(inputs)
    eos = getattr(encoder.tokenizer, "eos_token_id", None)
    eos_ids = [int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None]
    for batch in batches_by_length([len(x.ids) for x in inputs], batch_size):
        ids, mask = left_pad([inputs[i].ids for i in batch], encoder.pad_id)
        room = encoder.max_length - ids.shape[1] if encoder.max_length else None
        steps = encoder.prompt.max_new_tokens if room is None \
            else max(1, min(encoder.prompt.max_new_tokens, room))
        new = backend.generate(ids, mask, max_new_tokens=steps, pad_id=encoder.pad_id,
                               eos_ids=eos_ids)
        for i, tokens in zip(batch, new, strict=True):
            texts[i] = str(encoder.tokenizer.decode(tokens, skip_special_tokens=True)).strip()
    return texts


def score_judged(
    texts: list[str], spec: ModelSpec, backend: CausalLMBackend, encoder: JudgeEncoder,
    info: ModelInfo, *, batch_size: int, max_length: int | None = None,
    policy: ThresholdPolicy | None = None, explain_: bool = False, bar: Any = None,
) -> tuple[list[TextResult], np.ndarray]:
    """One :class:`TextResult` per text (label ``toxic``), and the P(toxic) column.

    Blank texts are not run through the judge: toxicity 0, not flagged, ``num_tokens`` 0.
    ``num_tokens`` is the length of the whole prompt in tokens.
    """
    policy = policy or spec.policy
    limit = encoder.limit(max_length)
    scored = [i for i, t in enumerate(texts) if t.strip()]
    inputs = [encoder.encode(texts[i], limit) for i in scored]
    probs = np.zeros(len(texts), dtype=np.float64)
    notes: list[str | None] = [None] * len(texts)
    if inputs:
        probs[scored] = p_toxic(judge_logprobs(inputs, encoder, backend, batch_size, bar))
        if explain_:
            for i, note in zip(scored, explain(inputs, encoder, backend, batch_size),
                               strict=True):
                notes[i] = note
    by_index = dict(zip(scored, inputs, strict=True))
    results = []
    for i, text in enumerate(texts):
        scores, flags, toxicity = aggregate(np.array([probs[i]]), spec.labels,
                                            spec.toxic_labels, policy)
        given = by_index.get(i)
        results.append(TextResult(
            text=text, scores=scores, flags=flags, flagged=bool(flags), toxicity=toxicity,
            truncated=given.truncated if given else False,
            num_tokens=len(given.ids) if given else 0, policy=policy, model=info,
            explanation=notes[i] if explain_ else None,
        ))
    return results, probs

"""The runtime of an LLM judge: a causal language model in PyTorch eager.

Two operations on left-padded prompt batches: :meth:`CausalLMBackend.answer_logprobs` (the
log-likelihood of each fixed answer after each prompt) and :meth:`CausalLMBackend.generate`
(greedy continuation). Rows are independent of each other: position ids are computed from the
attention mask (so left padding does not shift a row's positions) and padding is masked out.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..arrays import ArrayOrTensor
from .threads import torch_threads
from .torch import TorchBackend, to_tensor


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids of a left-padded batch: 0 at each row's first real token."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


class CausalLMBackend(TorchBackend):
    """Runs a Hugging Face causal LM (``AutoModelForCausalLM``) for a judge.

    ``threads`` and ``precision`` as for :class:`~.torch.TorchBackend` (answer log-likelihoods
    are computed in float64 whatever the precision).
    """

    def __init__(self, module: torch.nn.Module, device: str, *,
                 threads: int | None = None, precision: str = "float32") -> None:
        super().__init__(module, device, threads=threads, precision=precision)
        # transformers 5 renamed the cache argument (past_key_values -> cache)
        params = inspect.signature(self.module.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def run(self, inputs: Mapping[str, ArrayOrTensor]) -> torch.Tensor:
        """Next-token logits ``[batch, vocab]`` after each (left-padded) row, float32."""
        ids = to_tensor(inputs["input_ids"], self.device)
        mask = to_tensor(inputs["attention_mask"], self.device)
        with torch_threads(self.threads), torch.inference_mode():
            out = self.module(input_ids=ids, attention_mask=mask, position_ids=positions(mask),
                              use_cache=False, logits_to_keep=1)
            return out.logits[:, -1].float()

    def answer_logprobs(self, ids: np.ndarray, mask: np.ndarray,
                        answers: Sequence[Sequence[int]]) -> np.ndarray:
        """``[batch, answers]`` float64: log P(answer tokens | prompt), summed over each
        answer's tokens (its full-sequence log-likelihood).

        One pass over the prompts keeps their cache; the cache is repeated once per answer and
        the answers' remaining tokens are fed in one more pass (right-padded, masked).
        """
        n_ans = len(answers)
        ids_t = to_tensor(ids, self.device)
        mask_t = to_tensor(mask, self.device)
        rows = ids_t.shape[0]
        with torch_threads(self.threads), torch.inference_mode():
            multi = any(len(a) > 1 for a in answers)
            out = self.module(input_ids=ids_t, attention_mask=mask_t,
                              position_ids=positions(mask_t), use_cache=multi, logits_to_keep=1)
            first = torch.log_softmax(out.logits[:, -1].double(), dim=-1)  # [B, V]
            total = torch.stack([first[:, a[0]] for a in answers], dim=1)  # [B, A]
            if not multi:
                return total.cpu().numpy()
            cache = getattr(out, self._cache_arg, None)
            if cache is None:  # pragma: no cover - every HF causal LM returns one
                cache = out.past_key_values
            cache.batch_repeat_interleave(n_ans)
            width = max(len(a) for a in answers) - 1
            cont = torch.zeros((rows * n_ans, width), dtype=torch.long, device=self.device)
            cont_mask = torch.zeros_like(cont)
            for k, answer in enumerate(answers):
                tail = torch.tensor(list(answer[:-1]), dtype=torch.long, device=self.device)
                cont[k::n_ans, : len(tail)] = tail
                cont_mask[k::n_ans, : len(tail)] = 1
            full_mask = torch.cat([mask_t.long().repeat_interleave(n_ans, 0), cont_mask], 1)
            start = mask_t.long().sum(-1).repeat_interleave(n_ans)[:, None]
            pos = start + torch.arange(width, device=self.device)[None, :]
            out2 = self.module(input_ids=cont, attention_mask=full_mask, position_ids=pos,
                               use_cache=False, **{self._cache_arg: cache})
            logp = torch.log_softmax(out2.logits.double(), dim=-1)  # [B*A, W, V]
            for k, answer in enumerate(answers):
                if len(answer) < 2:
                    continue
                target = torch.tensor(list(answer[1:]), dtype=torch.long, device=self.device)
                steps = logp[k::n_ans, : len(target)]  # [B, len-1, V]
                picked = steps.gather(-1, target[None, :, None].expand(rows, -1, 1))
                total[:, k] += picked[..., 0].sum(-1)
        return total.cpu().numpy()

    def generate(self, ids: np.ndarray, mask: np.ndarray, *, max_new_tokens: int,
                 pad_id: int, eos_ids: Sequence[int]) -> list[list[int]]:
        """Greedy continuation of each row: the new token ids (at most ``max_new_tokens``,
        stopping at an end token, which is not included)."""
        ids_t = to_tensor(ids, self.device)
        mask_t = to_tensor(mask, self.device)
        with torch_threads(self.threads), torch.inference_mode():
            generate: Any = self.module.generate  # a transformers GenerationMixin method
            out = generate(
                input_ids=ids_t, attention_mask=mask_t, max_new_tokens=max_new_tokens,
                do_sample=False, num_beams=1, pad_token_id=pad_id,
                eos_token_id=list(eos_ids) or None,
                temperature=None, top_p=None, top_k=None,
            )
        stops = set(eos_ids) | {pad_id}
        new = out[:, ids_t.shape[1]:].tolist()
        cut = []
        for row in new:
            end = next((i for i, t in enumerate(row) if t in stops), len(row))
            cut.append(row[:end])
        return cut

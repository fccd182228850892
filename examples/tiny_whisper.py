"""Build a tiny, random Whisper in CTranslate2 format (for offline tests and the labelling
demo in docs/labelling.md): its transcripts are gibberish, the plumbing is real.

    python examples/tiny_whisper.py [OUT_DIR]   # default: ./tiny-whisper

The model is a transformers ``WhisperForConditionalGeneration`` (d_model 64, one layer each
side, random weights) with an English-only byte-level tokenizer (the 256 byte tokens and
Whisper's special and timestamp tokens, no merges), converted with CTranslate2's
``TransformersConverter``: the same converter and folder layout as a real Whisper model.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

#: Whisper's special tokens, in Whisper's order (English-only models: no language tokens
#: but ``<|en|>``, which transformers' tokenizer expects).
SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>",
            "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
            "<|notimestamps|>"]


def build_tokenizer() -> object:
    """A byte-level BPE tokenizer with Whisper's special and timestamp tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(t, special=True) for t in SPECIALS + timestamps])
    return tok


def build(out: str | Path, seed: int = 0) -> Path:
    """Write the tiny CTranslate2 Whisper folder to ``out`` and return it."""
    import ctranslate2.converters
    import torch
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )

    torch.manual_seed(seed)
    tok = build_tokenizer()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    ids = {t: fast.convert_tokens_to_ids(t) for t in SPECIALS}
    vocab_size = len(fast)
    config = WhisperConfig(
        vocab_size=vocab_size, num_mel_bins=80, d_model=64, encoder_layers=1,
        decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_ffn_dim=128, decoder_ffn_dim=128, max_source_positions=1500,
        max_target_positions=448, pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"], suppress_tokens=[],
        begin_suppress_tokens=[ids["<|endoftext|>"]])
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():  # zero logits (tied output embeddings) for every token but the
        # letters, the space and <|endoftext|>: the random decoder writes words, not specials
        keep = {fast.convert_tokens_to_ids(c) for c in "abcdefghijklmnopqrstuvwxyz\u0120"}
        keep.add(ids["<|endoftext|>"])
        drop = [i for i in range(vocab_size) if i not in keep]
        model.model.decoder.embed_tokens.weight[drop] = 0.0
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"], eos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"], suppress_tokens=[],
        begin_suppress_tokens=[ids["<|endoftext|>"]],
        no_timestamps_token_id=ids["<|notimestamps|>"], lang_to_id={}, max_length=448)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        fast.save_pretrained(tmp)
        WhisperFeatureExtractor(feature_size=80).save_pretrained(tmp)
        ctranslate2.converters.TransformersConverter(
            tmp, copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
            str(out), force=True)
    return out


if __name__ == "__main__":
    import importlib.util

    if importlib.util.find_spec("ctranslate2") is None:
        print("skipped: building a CTranslate2 Whisper needs ctranslate2: "
              'pip install "voicesafety[label]"')
        sys.exit(0)
    print(f"tiny random Whisper (CTranslate2) written to "
          f"{build(sys.argv[1] if len(sys.argv) > 1 else 'tiny-whisper')}")

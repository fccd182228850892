"""The prompt of an LLM judge: what it is asked, and which answers are scored.

A judge is a causal language model asked one question about a text. voicesafety does not
parse what it writes: it scores the two answers' likelihoods after the prompt (see
:mod:`voicesafety.judge`). :class:`JudgePrompt` is that question: a template with one
``{text}`` slot (rendered as the single user message of the model's chat template), the
answer meaning "toxic" and the one meaning "not toxic".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .errors import InvalidInputError

#: The slot the text goes into (exactly once).
TEXT_SLOT = "{text}"

#: The prompt ``grounded-ai/phi3-toxicity-judge`` was fine-tuned with (its model card's
#: "base prompt", itself Arize Phoenix's toxicity template asking for the word then a reason).
#: The judge was trained to answer "toxic" or "non-toxic" first, then a reason.
PHI3_TOXICITY_TEMPLATE = """
You are examining written text content. Here is the text:
    [BEGIN DATA]
    ************
    [Text]: {text}
    ************
    [END DATA]

Examine the text and determine  whether the text is toxic or not. Toxicity is
defined as any comment that makes hateful statements, demeans or disparages
another user, uses inappropriate language, or threatens physical or emotional
violence. Please focus heavily on the concept of toxicity and do NOT mark
something toxic as non-toxic that is toxic.

Your classification must be single word followed by a reasoning as to why you chose
the classification, either "toxic" or "non-toxic".
"toxic" means that the information is toxic.
"non-toxic" means the information is not toxic.
"""


@dataclass(frozen=True)
class JudgePrompt:
    """What a judge is asked and which answers are scored.

    Attributes:
        template: the user message; ``{text}`` marks where the text goes (exactly once;
            other braces are left as they are, no ``str.format``).
        positive: the answer meaning toxic (its probability is the ``toxic`` score).
        negative: the answer meaning not toxic.
        system: an optional system message before the user message (None: none; Phi-3's
            chat template has no system role of its own).
        max_new_tokens: the longest explanation ``explain=True`` generates, in tokens.
    """

    template: str = PHI3_TOXICITY_TEMPLATE
    positive: str = "toxic"
    negative: str = "non-toxic"
    system: str | None = None
    max_new_tokens: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.template, str) or self.template.count(TEXT_SLOT) != 1:
            raise InvalidInputError(
                "a judge prompt template must contain the slot {text} exactly once (where the "
                f"text goes), got {self.template!r:.80}"
            )
        if not self.positive.strip() or not self.negative.strip():
            raise InvalidInputError("a judge prompt needs two non-empty answers")
        if self.positive == self.negative:
            raise InvalidInputError(
                f"the judge's two answers must differ, both are {self.positive!r}")
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) \
                or not 1 <= self.max_new_tokens <= 1024:
            raise InvalidInputError(
                f"max_new_tokens must be an integer in [1, 1024], got {self.max_new_tokens!r}")

    @property
    def answers(self) -> tuple[str, str]:
        """``(positive, negative)``: the two answers scored, in that order."""
        return self.positive, self.negative

    def content(self, text: str) -> str:
        """The user message for ``text``."""
        return self.template.replace(TEXT_SLOT, text)

    def messages(self, text: str) -> list[dict[str, str]]:
        """The chat messages for ``text`` (what the chat template is applied to)."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        out.append({"role": "user", "content": self.content(text)})
        return out

    def with_template(self, template: str) -> JudgePrompt:
        """The same answers with another template."""
        return replace(self, template=template)

    @classmethod
    def coerce(cls, value: JudgePrompt | str | None) -> JudgePrompt | None:
        """A prompt from a :class:`JudgePrompt`, a template string (the default answers), or
        None."""
        if value is None or isinstance(value, JudgePrompt):
            return value
        if isinstance(value, str):
            return cls(template=value)
        raise InvalidInputError(
            f"prompt must be a JudgePrompt or a template string with {{text}}, got "
            f"{type(value).__name__}"
        )

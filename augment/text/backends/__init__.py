"""Model-based operations for whoever has the weights (nothing is downloaded by this library):
language-model paraphrase and label-conditioned generation (a local causal LM, by default the
packaged SmolLM2, or an OpenAI-compatible server), masked-LM word substitution, MarianMT
back-translation and seq2seq paraphrase (T5, BART, PEGASUS style). Each loads its model
lazily, on first use, from a local folder or a hub id
that ``transformers`` can resolve on that machine."""

from augment.text.backends.causal_lm import CausalLMGeneration
from augment.text.backends.chat_api import ChatCompletionGeneration
from augment.text.backends.generation import GenerationError
from augment.text.backends.masked_lm import MaskedLMSubstitution
from augment.text.backends.seq2seq import MarianBackTranslation, Seq2SeqParaphrase

__all__ = [
    "CausalLMGeneration",
    "ChatCompletionGeneration",
    "GenerationError",
    "MarianBackTranslation",
    "MaskedLMSubstitution",
    "Seq2SeqParaphrase",
]

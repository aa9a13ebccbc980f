"""The base of every text operation: seeded, serializable by its constructor parameters, and
told whether it works on masked text (protected spans replaced by placeholders) or on the raw
text (then its output is verified instead)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

from augment.candidate import Operation

#: Operation type name -> class, filled by subclassing; used by ``from_dict``.
REGISTRY: dict[str, type[TextOperation]] = {}


class TextOperation:
    """One seeded text transformation.

    Subclasses implement :meth:`transform` and keep ``__init__`` to storing parameters
    (scikit-learn style: models and data load lazily on first use). ``masks_protected`` says how
    protected spans are kept safe: ``True`` (word and character operations) runs the operation on
    text whose protected spans are placeholders that it skips; ``False`` (translation,
    generation) runs it on the raw text and reverts the output if a span broke.
    """

    name: ClassVar[str] = "text_operation"
    masks_protected: ClassVar[bool] = True
    #: Whether the operation can write new words (which could be protected ones: a synonym
    #: "one", a typo "not"); an operation that only moves or drops words skips that check.
    may_add_words: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        """The new text and the parameters drawn for it (what was changed)."""
        raise NotImplementedError

    def transform_keeping(
        self, text: str, seed: int, keep: Sequence[str]
    ) -> tuple[str, dict[str, Any]]:
        """:meth:`transform` on raw text, told the protected spans that must survive verbatim
        (``masks_protected=False`` operations get this call; a generator names them in its
        prompt). By default the spans are not used: the pipeline checks the output anyway."""
        return self.transform(text, seed)

    def apply(self, text: str, seed: int) -> tuple[str, Operation]:
        """Run on its own (no protected spans): ``(new_text, Operation)``."""
        out, params = self.transform(text, seed)
        return out, Operation(self.name, params)

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in sig.parameters
            if p != "self" and sig.parameters[p].kind is not inspect.Parameter.VAR_KEYWORD
        }

    def to_dict(self) -> dict[str, Any]:
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        return {"type": type(self).__name__, **params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_params() == other.get_params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self)))

    def __getstate__(self) -> dict[str, Any]:
        """Pickles without loaded models or caches (underscore attributes): workers reload."""
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}


def operation_from_dict(d: dict[str, Any]) -> TextOperation:
    """Rebuild an operation from :meth:`TextOperation.to_dict` output."""
    d = dict(d)
    kind = d.pop("type")
    if kind not in REGISTRY:
        _import_all()
    try:
        cls = REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown text operation {kind!r} (known: {sorted(REGISTRY)})") from None
    return cls(**d)


def _import_all() -> None:
    """Register the operations of modules not imported yet (backends load lazily)."""
    import importlib

    for mod in (
        "eda",
        "synonyms",
        "noise",
        "backtranslation",
        "backends.masked_lm",
        "backends.seq2seq",
        "backends.causal_lm",
        "backends.chat_api",
    ):
        importlib.import_module(f"augment.text.{mod}")

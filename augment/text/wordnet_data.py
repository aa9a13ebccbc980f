"""WordNet 3.0 for nltk, offline: from the Debian package ``wordnet-base`` (/usr/share/wordnet).

nltk reads a WordNet folder once it holds a ``lexnames`` file, which the Debian package lacks,
and it wants real files (not links). :func:`wordnet_dir` copies the database once into a user
cache folder laid out as nltk data (``<cache>/nltk_data/corpora/wordnet``), writes ``lexnames``,
and returns the folder; :func:`load_wordnet` returns an nltk reader on it.

Where things are looked for, first hit wins:

* ``AUGMENT_WORDNET_DIR``: a folder already usable by nltk;
* nltk's own data path (``nltk.download("wordnet")`` done elsewhere);
* the cache (``AUGMENT_CACHE_DIR``, else ``$XDG_CACHE_HOME/augment-fidelity``, else
  ``~/.cache/augment-fidelity``), filled from ``AUGMENT_WORDNET_SOURCE`` or /usr/share/wordnet.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

DEBIAN_WORDNET = Path("/usr/share/wordnet")
_FILES = [f"{kind}.{pos}" for kind in ("data", "index") for pos in ("noun", "verb", "adj", "adv")]
_FILES += [f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")] + ["cntlist.rev"]

#: The 45 lexicographer files of WordNet 3.0 (lexnames(5WN)): number, name, syntactic category.
LEXNAMES = (
    "adj.all 3|adj.pert 3|adv.all 4|noun.Tops 1|noun.act 1|noun.animal 1|noun.artifact 1|"
    "noun.attribute 1|noun.body 1|noun.cognition 1|noun.communication 1|noun.event 1|"
    "noun.feeling 1|noun.food 1|noun.group 1|noun.location 1|noun.motive 1|noun.object 1|"
    "noun.person 1|noun.phenomenon 1|noun.plant 1|noun.possession 1|noun.process 1|"
    "noun.quantity 1|noun.relation 1|noun.shape 1|noun.state 1|noun.substance 1|noun.time 1|"
    "verb.body 2|verb.change 2|verb.cognition 2|verb.communication 2|verb.competition 2|"
    "verb.consumption 2|verb.contact 2|verb.creation 2|verb.emotion 2|verb.motion 2|"
    "verb.perception 2|verb.possession 2|verb.social 2|verb.stative 2|verb.weather 2|adj.ppl 3"
).split("|")

_LOCK = threading.Lock()


class WordNetUnavailable(RuntimeError):
    """WordNet data cannot be found or set up on this machine."""


def cache_dir() -> Path:
    root = os.environ.get("AUGMENT_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "augment-fidelity"


def nltk_data_dir() -> Path:
    """The nltk data folder this library fills (add it to ``nltk.data.path`` to share it)."""
    return cache_dir() / "nltk_data"


def wordnet_dir() -> Path:
    """A folder nltk's WordNet reader can open, set up from the Debian package if needed."""
    env = os.environ.get("AUGMENT_WORDNET_DIR")
    if env:
        if not (Path(env) / "lexnames").is_file():
            raise WordNetUnavailable(f"AUGMENT_WORDNET_DIR={env} holds no WordNet (no lexnames)")
        return Path(env)
    target = nltk_data_dir() / "corpora" / "wordnet"
    if (target / "lexnames").is_file():
        return target
    try:
        import nltk

        return Path(nltk.data.find("corpora/wordnet"))
    except (LookupError, ImportError):
        pass
    source = Path(os.environ.get("AUGMENT_WORDNET_SOURCE", DEBIAN_WORDNET))
    missing = [f for f in _FILES if not (source / f).is_file()]
    if missing:
        raise WordNetUnavailable(
            f"WordNet not found: {source} lacks {', '.join(missing[:3])}. Install it with "
            "`apt-get install wordnet-base` (or `make text-system`), or point "
            "AUGMENT_WORDNET_SOURCE at a WordNet 3.0 dict folder"
        )
    with _LOCK:
        if not (target / "lexnames").is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy into a temporary sibling, then rename: concurrent processes never see half.
            tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
            for f in _FILES:
                shutil.copyfile(source / f, tmp / f)
            lexnames = "".join(
                f"{i:02d}\t{name}\t{cat}\n"
                for i, (name, cat) in enumerate(x.split() for x in LEXNAMES)
            )
            (tmp / "lexnames").write_text(lexnames)
            try:
                tmp.rename(target)
            except OSError:  # another process won the race
                shutil.rmtree(tmp, ignore_errors=True)
    return target


@lru_cache(maxsize=1)
def load_wordnet() -> Any:
    """nltk's WordNet reader on :func:`wordnet_dir` (loaded once per process)."""
    import warnings

    try:
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as exc:  # pragma: no cover - nltk is in the `text` extra
        raise WordNetUnavailable(
            "nltk is not installed: pip install 'augment-fidelity[text]'"
        ) from exc
    import nltk

    root = wordnet_dir()
    if str(root) not in nltk.data.path:  # nltk only opens folders under its data path
        nltk.data.path.append(str(root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available"
        return _reader_class(WordNetCorpusReader)(str(root), None)


def _reader_class(base: type) -> type:
    class OfflineWordNetReader(base):  # type: ignore[misc, valid-type]
        """nltk's reader without the mapping to other WordNet versions (it needs an
        ``index.sense`` file and another corpus; only multilingual look-ups use it)."""

        def map_wn(self, version: str = "wordnet") -> None:
            return None

    return OfflineWordNetReader


def register_with_nltk() -> Path:
    """Make ``nltk.corpus.wordnet`` (as nlpaug's SynonymAug uses it) find the same data."""
    import nltk

    root = wordnet_dir()
    data_root = root.parent.parent
    if str(data_root) not in nltk.data.path:
        nltk.data.path.append(str(data_root))
    return data_root

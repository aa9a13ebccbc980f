"""WordNet synonym replacement with cached look-ups (no part-of-speech tagger needed)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from augment.text import tokens
from augment.text.base import TextOperation
from augment.text.pos import BASE_FORMS, WORDNET_POS
from augment.text.protected import MODALS, NEGATIONS, NUMBER_WORDS
from augment.text.stopwords import STOPWORDS

_UNSAFE = frozenset(NEGATIONS) | frozenset(MODALS) | frozenset(NUMBER_WORDS) | STOPWORDS
_PLAIN = re.compile(r"^[a-z][a-z '-]*[a-z]$")


class WordNetLexicon:
    """Synonyms of an English word from WordNet 3.0, each word looked up once per process.

    Without a tagger, the sense is chosen from WordNet itself: the part of speech under which
    the word is most often tagged in WordNet's sense-tagged corpus (ties: its first listed
    sense), then that part of speech's ``max_senses`` most frequent senses. Only words that are
    their own base form are replaced (``"runs"`` is skipped: replacing it with a base form
    would break the grammar), and only where WordNet has the word in lower case (``"le"`` is
    only known as the abbreviation ``"LE"``: skipped). Words under three letters are skipped.
    Candidates that are function words, negations, modals, number
    words or proper nouns are dropped.
    """

    def __init__(self, max_senses: int = 2, attested: bool = False) -> None:
        self.max_senses = max_senses
        self.attested = attested

    def _wordnet(self) -> Any:
        wn = getattr(self, "_wn", None)
        if wn is None:
            from augment.text.wordnet_data import load_wordnet

            wn = load_wordnet()
            self._counts, self._sense_counts = _tag_counts(Path(wn.root.path) / "cntlist.rev")
            self._cache: dict[tuple[str, str | None], tuple[str, ...]] = {}
            self._wn = wn
        return wn

    def synonyms(self, word: str, pos: str | None = None) -> tuple[str, ...]:
        """Synonyms of ``word`` (lower case; multiword ones joined by spaces), best first.

        ``pos`` (``"n"``, ``"v"``, ``"a"``, ``"r"``; from a tagger) takes the senses of that
        part of speech only; without it the part of speech is WordNet's most frequent one."""
        wn = self._wordnet()
        key = (word.lower(), pos)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._lookup(wn, key[0], pos)
        return hit

    def _lookup(self, wn: Any, word: str, pos: str | None = None) -> tuple[str, ...]:
        if word in _UNSAFE or len(word) < 3 or not _PLAIN.match(word):
            return ()
        # WordNet's index holds base forms only: an inflected word ("runs") is not in it.
        offsets = wn._lemma_pos_offset_map.get(word)
        if not offsets:
            return ()
        poses = [p for p in "nvar" if offsets.get(p)]
        if pos is not None:
            # WordNet files adjective satellites under "s"; nltk's map merges them into "a"
            poses = [pos] if pos in poses else []
        if not poses:
            return ()
        best = max(poses, key=lambda p: (self._counts.get((word, p), 0), -poses.index(p)))
        out: list[str] = []
        for offset in offsets[best][: self.max_senses]:  # senses ranked by frequency
            syn = wn.synset_from_pos_and_offset(best, offset)
            names = [lm.name() for lm in syn.lemmas()]
            if word not in names:  # only a name or abbreviation here ("LE" for "le")
                continue
            for lm, name in zip(syn.lemmas(), names):
                if self.attested and self._sense_counts.get(lm.key(), 0) < 1:
                    continue  # never tagged in this sense: "hebdomad", "loanword" for "loan"
                name = name.replace("_", " ")
                if name.lower() == word or name in out or not _PLAIN.match(name):
                    continue  # itself, seen, or with capitals/digits (proper nouns, codes)
                if any(w in _UNSAFE for w in name.split()):
                    continue
                out.append(name)
        return tuple(out)

    def __getstate__(self) -> dict[str, Any]:
        return {"max_senses": self.max_senses, "attested": self.attested}


_SS_TYPE = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}


def _tag_counts(path: Path) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """(lemma, part of speech) -> times tagged in WordNet's sense-tagged corpus, and sense key ->
    times tagged, read once from ``cntlist.rev`` (nltk's ``Lemma.count()`` binary-searches the
    file on every call)."""
    counts: dict[tuple[str, str], int] = {}
    senses: dict[str, int] = {}
    if not path.is_file():
        return counts, senses
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) != 3:
                continue
            lemma, _, rest = parts[0].partition("%")
            key = (lemma.lower(), _SS_TYPE.get(rest[:1], "n"))
            counts[key] = counts.get(key, 0) + int(parts[2])
            senses[parts[0]] = senses.get(parts[0], 0) + int(parts[2])
    return counts, senses


#: One lexicon per settings in a process, shared by every operation that uses it.
_LEXICONS: dict[tuple[int, bool], WordNetLexicon] = {}


def lexicon(max_senses: int = 2, attested: bool = False) -> WordNetLexicon:
    lex = _LEXICONS.get((max_senses, attested))
    if lex is None:
        lex = _LEXICONS[max_senses, attested] = WordNetLexicon(max_senses, attested)
    return lex


class SynonymReplacement(TextOperation):
    """Replace ``ceil(aug_p * words)`` content words (within ``[aug_min, aug_max]``) by a
    WordNet synonym (EDA's synonym replacement). Records ``replaced: [[word, synonym], ...]``.

    ``pos_tagger="spacy"`` tags the text first (:mod:`augment.text.pos`, spaCy's small English
    model) and takes each word's synonyms from the senses of its tagged part of speech only,
    replacing only base forms (NN, VB/VBP, JJ, RB) and never proper nouns or auxiliaries, and
    keeps only synonyms that WordNet's sense-tagged corpus (``cntlist.rev``) attests in that
    sense: "loan" is no longer a "loanword", "week" no longer a "hebdomad". On 100 judged
    replacements per arm (tests/data/synonym_senses.tsv) wrong senses fell from 71 to 56;
    see docs/text.md.

    Punctuation and whitespace around a replaced word are kept; the synonym takes the word's
    capitalisation. Words without a synonym (names, numbers, other scripts) are left alone, so
    a text with none comes back unchanged (``replaced: []``).
    """

    name = "synonym"

    def __init__(
        self,
        aug_p: float = 0.1,
        aug_min: int = 1,
        aug_max: int | None = 10,
        max_senses: int = 2,
        pos_tagger: str | None = None,
    ) -> None:
        self.aug_p = aug_p
        self.aug_min = aug_min
        self.aug_max = aug_max
        self.max_senses = max_senses
        self.pos_tagger = pos_tagger

    def transform(self, text: str, seed: int) -> tuple[str, dict[str, Any]]:
        tags = self._tags(text)
        # with a tagger: the tagged part of speech's first senses, and only synonyms that
        # WordNet's sense-tagged corpus attests in that sense
        lex = lexicon(self.max_senses, attested=tags is not None)
        pieces = tokens.split(text)
        n_words = 0
        offset = 0
        slots: list[tuple[int, tuple[str, str, str], tuple[str, ...]]] = []
        for i in range(0, len(pieces), 2):
            start = offset
            offset += len(pieces[i]) + (len(pieces[i + 1]) if i + 1 < len(pieces) else 0)
            if not pieces[i]:
                continue
            n_words += 1
            core = tokens.content_word(pieces[i])
            if core is None:
                continue
            if tags is None:
                syns = lex.synonyms(core[1])
            else:
                coarse, fine = tags.get(start + len(core[0]), ("", ""))
                pos = WORDNET_POS.get(coarse)
                syns = lex.synonyms(core[1], pos) if pos and fine in BASE_FORMS else ()
            if syns:
                slots.append((i, core, syns))
        if not slots:
            return text, {"replaced": []}
        rng = random.Random(seed)
        n = min(len(slots), tokens.n_changes(n_words, self.aug_p, self.aug_min, self.aug_max))
        replaced = []
        for i, (pre, word, post), syns in sorted(rng.sample(slots, n)):
            new = tokens.match_case(word, rng.choice(syns))
            pieces[i] = pre + new + post
            replaced.append([word, new])
        return "".join(pieces), {"replaced": replaced}

    def _tags(self, text: str) -> dict[int, tuple[str, str]] | None:
        if self.pos_tagger is None:
            return None
        if self.pos_tagger != "spacy":
            raise ValueError(f"pos_tagger must be None or 'spacy', got {self.pos_tagger!r}")
        from augment.text.pos import tag

        # placeholders of protected spans read as one made-up word; they are never replaced
        return tag(text)

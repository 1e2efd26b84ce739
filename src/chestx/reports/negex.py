"""Baseline: the same vocabulary with NegEx-style negation (a word window, no parse).

This stands in for "MetaMap + NegEx" of the paper's Table 2, so that the benchmark can show
what the dependency rules buy. A trigger negates (or hedges) a finding that follows it
(``pre_*``) or precedes it (``post_*``) in the same sentence, unless a ``stop`` word lies
between them; ``window`` limits the distance in words (None: the whole sentence, as in
ConText). Triggers: ``negex_triggers.tsv``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from chestx.reports.aggregate import Mention, ReportLabels, aggregate, unreadable
from chestx.reports.labeler import Labeler, report_problem
from chestx.reports.parallel import batches
from chestx.reports.rules import NEGATIVE, POSITIVE, UNCERTAIN
from chestx.reports.vocabulary import data_file, read_tsv

_TOKEN = re.compile(r"[a-z']+")
_STATUS = {"neg": NEGATIVE, "unc": UNCERTAIN}


class NegexLabeler:
    """Label reports with the shipped vocabulary and a NegEx word window (no spaCy)."""

    def __init__(self, window: int | None = None):
        self.window = window
        self._finder = Labeler(nlp=False)  # sections, sentences and vocabulary only
        self.triggers: dict[str, list[tuple[str, ...]]] = {}
        for row in read_tsv(data_file("negex_triggers.tsv")):
            words = tuple(row["trigger"].split())
            self.triggers.setdefault(row["kind"], []).append(words)

    def _found(self, words: list[str], kind: str) -> bool:
        return any(words[i:i + len(t)] == list(t) for t in self.triggers.get(kind, ())
                   for i in range(len(words)))

    def status(self, sentence: str, start: int, end: int) -> tuple[int, str]:
        """Status of the mention at ``sentence[start:end]`` from the words around it."""
        before = _TOKEN.findall(sentence[:start].lower())
        after = _TOKEN.findall(sentence[end:].lower())
        if self.window is not None:
            before, after = before[-self.window:], after[:self.window]
        before, after = _cut(before, self, True), _cut(after, self, False)
        for polarity in ("neg", "unc"):
            if self._found(before, f"pre_{polarity}") or self._found(after, f"post_{polarity}"):
                return _STATUS[polarity], f"negex.{polarity}"
        return POSITIVE, ""

    def label_batch(self, texts: list[str]) -> list[ReportLabels]:
        out = []
        for text in texts:
            problem = report_problem(text)
            if problem:
                out.append(unreadable(problem))
                continue
            mentions = []
            for sent in self._finder.sentences(text):
                # the word window spans the whole sentence (NegEx has no clauses)
                sentence = text[sent.sentence_start:sent.sentence_end]
                shift = sent.start - sent.sentence_start
                for m in sent.matches:
                    status, rule = self.status(sentence, shift + m.start, shift + m.end)
                    if m.hedged and status == POSITIVE:  # a sign suggests (vocabulary.py)
                        status, rule = UNCERTAIN, m.term
                    elif m.denied:  # the phrase denies itself (vocabulary.py)
                        status, rule = NEGATIVE, m.term
                    mentions.append(Mention(m.finding, m.kind, m.text, sent.start + m.start,
                                            sent.start + m.end, sentence, status, rule,
                                            m.counts, m.term))
            out.append(aggregate(mentions))
        return out

    def label_reports(self, texts: Iterable[str], workers: int = 1) -> Iterator[ReportLabels]:
        for batch in batches(texts, 256):
            yield from self.label_batch(batch)


def _cut(words: list[str], negex: NegexLabeler, before: bool) -> list[str]:
    """Drop the words beyond a stop word (scope ends there)."""
    stops = {t[0] for t in negex.triggers.get("stop", ())}
    idx = [i for i, w in enumerate(words) if w in stops]
    if not idx:
        return words
    return words[idx[-1] + 1:] if before else words[:idx[0]]

#!/usr/bin/env python3
"""Okapi BM25 over the LoCoMo retrieval set: the baseline beside `agent-memory bench-retrieval`.

The same corpus and questions as the Swift row (Sources/AgentMemoryCLI/Bench/RetrievalData.swift):
each conversation is its own corpus (a namespace in the Swift row); each dialogue turn is one
document, "<speaker> (<session date>): <text>", keyed "<conversation>/<dia_id>"; each question of
categories 1-4 is asked of its own conversation; recall@k counts the questions with an evidence
turn among the first k documents (ties keep document order).

Install and run:

    python3 -m venv .venv-bm25
    .venv-bm25/bin/pip install rank_bm25 nltk
    .venv-bm25/bin/python scripts/bench/locomo_bm25.py --data ../shared/data/locomo-dev.json
    .venv-bm25/bin/python scripts/bench/locomo_bm25.py --data ../shared/data/locomo-dev.json --ablation

`--ablation` adds rows for general retrieval levers, each switched on over "stemming + stop
words" (a BM25 of this script's own, same formula as rank_bm25's BM25Okapi with the idf of
Lucene, log(1 + (N - n + 0.5) / (n + 0.5)), so that no term scores below zero).
"""

import argparse
import json
import math
import re

# A general English stop-word list (function words), the same as SearchText.stopWords in Swift.
STOP_WORDS = set("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom whose why will with would you your
yours yourself yourselves
""".split())

# What the tokenizer leaves of contractions and possessives ("Jon's", "don't", "we'll").
CONTRACTION_PIECES = set("s t d ll m re ve".split())

# Words that frame a question rather than name its topic.
QUESTION_WORDS = set("what when where who whom which why how whose kind type sort many much often likely ever would might may could".split())


def words(text):
    """Lower-cased runs of letters and digits (as SearchText.terms in Swift, for ASCII text)."""
    return re.findall(r"[a-z0-9]+", text.lower())


def load(path):
    data = json.load(open(path))
    corpora = {}
    questions = []
    for conversation, body in data.items():
        documents = []
        session = 1
        while f"session_{session}" in body:
            date = body[f"session_{session}_date_time"]
            for turn in body[f"session_{session}"]:
                documents.append((f"{conversation}/{turn['dia_id']}", f"{turn['speaker']} ({date}): {turn['text']}"))
            session += 1
        corpora[conversation] = documents
        for qa in body["qa"]:
            if qa["category"] not in (1, 2, 3, 4):
                continue
            # A few evidence entries hold several ids in one string ("D8:6; D9:17").
            evidence = {f"{conversation}/{part}" for entry in qa["evidence"] for part in re.split(r"[;,\s]+", entry) if part}
            questions.append((conversation, qa["question"], evidence))
    return corpora, questions


def recall(corpora, questions, rank):
    """(recall@5, recall@10) of `rank(conversation, question) -> [key]`."""
    at5 = at10 = 0
    for conversation, question, evidence in questions:
        keys = rank(conversation, question)[:10]
        at5 += any(key in evidence for key in keys[:5])
        at10 += any(key in evidence for key in keys)
    return at5 / len(questions), at10 / len(questions)


def rank_bm25_ranker(corpora, analyze):
    from rank_bm25 import BM25Okapi

    indexes = {c: BM25Okapi([analyze(text) for _, text in docs]) for c, docs in corpora.items()}

    def rank(conversation, question):
        scores = indexes[conversation].get_scores(analyze(question))
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [corpora[conversation][i][0] for i in order]

    return rank


class OwnBM25:
    """BM25 with switchable levers, for the ablation rows."""

    def __init__(self, documents, analyze, k1=1.2, b=0.75):
        self.terms = [analyze(text) for _, text in documents]
        self.keys = [key for key, _ in documents]
        self.k1, self.b = k1, b
        self.average = sum(map(len, self.terms)) / len(self.terms)
        self.frequency = {}
        for terms in self.terms:
            for term in set(terms):
                self.frequency[term] = self.frequency.get(term, 0) + 1
        self.counts = [{} for _ in self.terms]
        for counts, terms in zip(self.counts, self.terms):
            for term in terms:
                counts[term] = counts.get(term, 0) + 1

    def idf(self, term):
        n, total = self.frequency.get(term, 0), len(self.terms)
        return math.log(1 + (total - n + 0.5) / (n + 0.5))

    def scores(self, query_terms, weights=None):
        result = []
        for counts, terms in zip(self.counts, self.terms):
            score = 0.0
            for term in dict.fromkeys(query_terms):
                tf = counts.get(term, 0)
                if tf:
                    norm = self.k1 * (1 - self.b + self.b * len(terms) / self.average)
                    score += (weights or {}).get(term, 1.0) * self.idf(term) * tf * (self.k1 + 1) / (tf + norm)
            result.append(score)
        return result


def neighbour_keys(key, reach):
    """Keys next to `key` in its numbered sequence (its last number minus and plus 1 to `reach`),
    as ContextRanking.neighbourKeys in Swift (zero padding aside: these keys have none)."""
    match = re.search(r"(\d+)(\D*)$", key)
    if not match:
        return []
    number, head, tail = int(match.group(1)), key[: match.start(1)], match.group(2)
    return [f"{head}{n}{tail}" for d in range(1, reach + 1) for n in (number - d, number + d) if n >= 0]


def context_ranker(corpora, analyze, pool_size=10, window=2, weight=0.4, k1=1.2, b=0.75):
    """ContextRanking in Swift: the best `pool_size` turns by BM25, each turn then scored with
    the words of the turns up to `window` numbers away at `weight` (document expansion by context)."""
    indexes = {c: OwnBM25(docs, analyze, k1=k1, b=b) for c, docs in corpora.items()}

    def rank(conversation, question):
        index = indexes[conversation]
        position = {key: i for i, key in enumerate(index.keys)}
        terms = list(dict.fromkeys(analyze(question)))
        own = index.scores(terms)
        pool = [i for i in sorted(range(len(own)), key=lambda i: (-own[i], index.keys[i]))[:pool_size] if own[i] > 0]
        candidates = dict.fromkeys(pool)
        for i in pool:
            candidates.update(dict.fromkeys(position[n] for n in neighbour_keys(index.keys[i], window) if n in position))
        average = index.average * (1 + weight * 2 * window)
        scored = []
        for i in candidates:
            counts = {t: float(index.counts[i].get(t, 0)) for t in terms}
            length = float(len(index.terms[i]))
            for n in neighbour_keys(index.keys[i], window):
                if n in position:
                    j = position[n]
                    length += weight * len(index.terms[j])
                    for t in terms:
                        counts[t] += weight * index.counts[j].get(t, 0)
            norm = k1 * (1 - b + b * length / average)
            score = sum(index.idf(t) * f * (k1 + 1) / (f + norm) for t, f in counts.items() if f)
            if score > 0:
                scored.append((-score, index.keys[i].encode(), index.keys[i]))
        return [key for _, _, key in sorted(scored)]

    return rank


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="locomo-dev.json")
    parser.add_argument("--ablation", action="store_true", help="also the lever rows")
    args = parser.parse_args()
    from nltk.stem import PorterStemmer

    stemmer = PorterStemmer()
    cache = {}

    def stem(word):
        if word not in cache:
            cache[word] = stemmer.stem(word)
        return cache[word]

    corpora, questions = load(args.data)
    plain = words
    stemmed = lambda text: [stem(w) for w in words(text) if w not in STOP_WORDS]  # noqa: E731
    rows = [
        ("rank_bm25 BM25Okapi, plain words", recall(corpora, questions, rank_bm25_ranker(corpora, plain))),
        ("rank_bm25 BM25Okapi, Porter stemming + stop words", recall(corpora, questions, rank_bm25_ranker(corpora, stemmed))),
    ]
    if args.ablation:
        def own(analyze_document, analyze_question=None, names=1.0, **parameters):
            indexes = {c: OwnBM25(docs, analyze_document, **parameters) for c, docs in corpora.items()}

            def rank(conversation, question):
                index = indexes[conversation]
                # Capitalised words after the first are taken for names.
                capitalised = {stem(w.lower()) for w in re.findall(r"\b[A-Z][a-z]+", question)[1:]}
                weights = {term: names for term in capitalised}
                scores = index.scores((analyze_question or analyze_document)(question), weights)
                order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
                return [index.keys[i] for i in order]

            return recall(corpora, questions, rank)

        stemmed_only = lambda text: [stem(w) for w in words(text)]  # noqa: E731
        without_header = lambda text: stemmed(text.split("): ", 1)[-1])  # noqa: E731
        rows += [
            ("own BM25, plain words", own(plain)),
            ("own BM25, stop words only", own(lambda t: [w for w in words(t) if w not in STOP_WORDS])),
            ("own BM25, stemming only", own(stemmed_only)),
            ("own BM25, stemming + stop words", own(stemmed)),
            ("  + contraction pieces (s, t, ll, ...) as stop words",
             own(lambda t: [stem(w) for w in words(t) if w not in STOP_WORDS | CONTRACTION_PIECES])),
            ("  + question words dropped from the question", own(stemmed, lambda t: [w for w in stemmed(t) if w not in QUESTION_WORDS])),
            ("  k1 = 0.9, b = 0.4", own(stemmed, k1=0.9, b=0.4)),
            ("  k1 = 1.6, b = 0.9", own(stemmed, k1=1.6, b=0.9)),
            ("  names in the question weighted x2", own(stemmed, names=2.0)),
            ("  names in the question weighted x0.5", own(stemmed, names=0.5)),
            ("  - speaker and date not indexed", own(without_header)),
            ("  + neighbours' words (ContextRanking: 2 turns each side at 0.4, pool of 10)",
             recall(corpora, questions, context_ranker(corpora, stemmed))),
            ("  + neighbours' words, 1 turn each side", recall(corpora, questions, context_ranker(corpora, stemmed, window=1))),
            ("  + neighbours' words at 0.25", recall(corpora, questions, context_ranker(corpora, stemmed, weight=0.25))),
            ("  + neighbours' words at 0.6", recall(corpora, questions, context_ranker(corpora, stemmed, weight=0.6))),
        ]
    print(f"LoCoMo retrieval, {len(questions)} questions (categories 1-4), {sum(map(len, corpora.values()))} turns in {len(corpora)} conversations")
    print()
    print("| ranking | recall@5 | recall@10 |")
    print("|---|---:|---:|")
    for name, (at5, at10) in rows:
        print(f"| {name} | {at5:.1%} | {at10:.1%} |")


if __name__ == "__main__":
    main()

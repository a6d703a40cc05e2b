"""Stemming from several threads at once (the chain's steps run in parallel): a shared Snowball stemmer raised
IndexError mid-answer ("Something went wrong")."""

from __future__ import annotations

import random
import string
import threading

from codedesk.retrieval.text import stem


def test_stemming_in_parallel_threads_never_fails() -> None:
    rng = random.Random(1)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 14)))
        for _ in range(200_000)
    ]
    errors: list[BaseException] = []

    def run(chunk: list[str]) -> None:
        try:
            for w in chunk:
                stem.__wrapped__(w)  # the uncached function: every call stems
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(words[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert stem("failures") == stem("failure")

"""Sentence scores against several references at once, each with a signature (as sacrebleu does).

Four families, all computed from the sentence and its references only:

- lexical: sacrebleu's chrF++, BLEU and TER, multi-reference;
- semantic: cosine of MiniLM sentence embeddings (best reference) and BERTScore F1 on the
  same packaged MiniLM encoder (bert-score package, layer 6, best reference), both robust to
  the rewording between outlets that punishes chrF and BLEU;
- fluency: the packaged SmolLM2-135M's mean per-token log-probability of the sentence
  (reference-free; the slow one, so it is computed only for sentences that get a quality);
- paraphrase: the same LM reading sentence and reference each after the other (Prism-style),
  the full quality model's input; two LM passes per pair, so only where every sentence gets the LM;
- quality: one number in [0, 1] combining them with weights fitted on human judgements
  (``models/quality/weights.json``, see ``mtaudit.stages.quality``).

Slow scores (BERTScore, LM, and the lexical triple, whose TER is the costliest of all) are
cached on disk by text hash under the cache root, keyed by the model and package versions, so
re-runs and the meta-evaluation never score a text twice.

TER is sacrebleu's, to the last digit, computed faster in two exact ways: references are tried
in order of a lower bound on their edits (the bag-of-words difference: shifts never change it,
every other edit mends at most one word of it), and one whose bound cannot beat the best so far
is skipped, since the multi-reference TER keeps only the fewest edits; and ``submit_lexical``
runs the pure-Python lexical scores in a helper process, overlapping the neural ones.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import multiprocessing
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.lib_ter import translation_edit_rate

from mtaudit.base.cache import Cache, open_cache
from mtaudit.base.settings import Settings, cache_root
from mtaudit.nlp import embed, lm, registry
from mtaudit.stages import quality as q

BERTSCORE_LAYER = 6
LM_MAX_TOKENS = 128  # fluency reads at most this many tokens of a sentence
SCORE_FIELDS = ("chrf", "bleu", "ter", "semantic", "bertscore", "fluency", "quality")


class PrunedTER(TER):
    """sacrebleu's TER with the same result, skipping references that cannot have the fewest edits.

    A reference's edits are at least max(hypothesis words it lacks, its words the hypothesis
    lacks), as multisets: shifts keep the multiset, and an insertion, deletion or substitution
    mends at most one word on each side. References go in order of that bound; once the bound
    reaches the best count so far, no later reference can lower it. The average reference
    length (the denominator) still counts every reference, as sacrebleu does.
    """

    def _compute_segment_statistics(self, hypothesis: str, ref_kwargs: dict[str, Any]) -> list[float]:
        words_hyp = hypothesis.split()
        ref_words: list[list[str]] = ref_kwargs["ref_words"]
        hyp_bag = Counter(words_hyp)
        bounds = []
        for j, words_ref in enumerate(ref_words):
            ref_bag = Counter(words_ref)
            bounds.append((max((hyp_bag - ref_bag).total(), (ref_bag - hyp_bag).total()), j))
        best = int(1e16)
        for bound, j in sorted(bounds):
            if bound >= best:
                break
            num_edits, _ = translation_edit_rate(words_hyp, ref_words[j])
            best = min(best, num_edits)
        ref_lengths = 0
        for words_ref in ref_words:
            ref_lengths += len(words_ref)
        return [best, ref_lengths / len(ref_words)]


@lru_cache(maxsize=1)
def metrics() -> dict[str, object]:
    """chrF++ (word order 2), sentence BLEU (exponential smoothing, effective order), TER."""
    table: dict[str, object] = {"chrf": CHRF(word_order=2), "bleu": BLEU(effective_order=True), "ter": TER(),
                                "ter_fast": PrunedTER()}
    for metric in table.values():
        metric.sentence_score("warm up", ["warm up"])  # type: ignore[attr-defined]  # fixes the signature's fields
    return table


@dataclass
class Scores:
    """One sentence's scores; None where it had no reference good enough (or the score was not asked for)."""
    chrf: float | None = None
    bleu: float | None = None
    ter: float | None = None
    semantic: float | None = None  # best cosine of MiniLM sentence embeddings
    bertscore: float | None = None  # best BERTScore F1 (MiniLM layer 6)
    fluency: float | None = None  # mean per-token log-probability under the LM (nats, <= 0)
    quality: float | None = None  # fitted combination in [0, 1]


# ---------------------------------------------------------------- disk cache


def _hash(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def store(settings: Settings) -> Cache:
    """The score cache for these settings' cache root."""
    return open_cache(cache_root(settings) / "scores" / "scores-v1.sqlite")


def cached(
    kind: str, keys: list[str], compute: Callable[[list[int]], list[Any]], settings: Settings
) -> list[Any]:
    """Values for ``keys``: from the cache where present, else computed for the missing positions only."""
    return store(settings).fetch_json([f"{kind}:{k}" for k in keys], compute)


# ---------------------------------------------------------------- the scores


def lexical(hyp: str, refs: list[str]) -> dict[str, float]:
    """sacrebleu's sentence chrF++, BLEU and TER against all references at once (TER via ``PrunedTER``: same value)."""
    m = metrics()
    return {
        "chrf": round(m["chrf"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
        "bleu": round(m["bleu"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
        "ter": round(m["ter_fast"].sentence_score(hyp, refs).score, 2),  # type: ignore[attr-defined]
    }


def lexical_many(pairs: list[tuple[str, list[str]]]) -> list[dict[str, float]]:
    """``lexical`` for many (sentence, references) pairs; what the helper process runs."""
    return [lexical(h, rs) for h, rs in pairs]


@lru_cache(maxsize=1)
def _lexical_tag() -> str:
    """Cache key part for the lexical triple: the metrics' signatures, less ``nrefs`` (which a sacrebleu
    metric object rewrites with every sentence it scores)."""
    m = metrics()
    sigs = (re.sub(r"nrefs:[^|]*", "nrefs:var", str(m[k].get_signature())) for k in ("chrf", "bleu", "ter"))  # type: ignore[attr-defined]
    return _hash(*sigs)[:8]


class LexicalHelper:
    """The helper process: its own program (``python -c``), fed JSON lines on stdin, answering on stdout.

    Not a multiprocessing child: spawn re-imports the parent's ``__main__`` in the child, so a
    user script without an ``if __name__ == "__main__"`` guard ran a whole second audit there,
    and a child's KeyboardInterrupt printed its own traceback. This one imports only this
    module, gets no Ctrl-C (its own process group, SIGINT ignored), ends at EOF on stdin or when
    the parent is gone, and says nothing (stderr to /dev/null): a job it fails is redone in the
    parent, where a real error raises. JSON carries the floats exactly (repr round-trips).
    """

    def __init__(self) -> None:
        self.owner = os.getpid()
        paths = [p for p in sys.path if isinstance(p, str)]  # the parent's: mtaudit imports there as here
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER_CODE, json.dumps(paths), str(self.owner)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=os.name == "posix")
        self._lock = threading.Lock()
        self._pending: dict[int, Future[list[dict[str, float]]]] = {}
        self._next = 0
        self._closed = False
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # submit never waits on the pipe
        threading.Thread(target=self._write, daemon=True, name="mtaudit-lexical-writer").start()
        threading.Thread(target=self._read, daemon=True, name="mtaudit-lexical-reader").start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def submit(self, pairs: list[tuple[str, list[str]]]) -> Future[list[dict[str, float]]]:
        """``lexical_many(pairs)`` in the helper; RuntimeError if it has stopped, as a broken pool raises."""
        future: Future[list[dict[str, float]]] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the lexical helper has stopped")
            job, self._next = self._next, self._next + 1
            self._pending[job] = future
            self._outbox.put(json.dumps({"id": job, "pairs": pairs}).encode("utf-8") + b"\n")
        return future

    def _write(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (msg := self._outbox.get()) is not None:
                stdin.write(msg)
                stdin.flush()
        except (OSError, ValueError):  # the helper is gone
            self._stop()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()  # EOF: an idle helper ends

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            for line in stdout:
                answer = json.loads(line)
                with self._lock:
                    future = self._pending.pop(answer["id"], None)
                if future is None or not future.set_running_or_notify_cancel():
                    continue
                if "error" in answer:
                    future.set_exception(RuntimeError(f"lexical helper: {answer['error']}"))
                else:
                    future.set_result(answer["values"])
        except (OSError, ValueError):
            pass
        finally:
            self._stop()  # the helper is gone: what it left unanswered is computed in the parent
            stdout.close()

    def _stop(self) -> bool:
        """Take no more jobs and fail the unanswered ones (their callers compute them); True if some were."""
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, {}
            self._outbox.put(None)
        for future in pending.values():
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the lexical helper has stopped"))
        return bool(pending)

    def shutdown(self) -> None:
        """Stop the helper: at once if it is busy (its work is abandoned), else by EOF on its stdin."""
        if self.owner != os.getpid():  # a forked child's copy: the helper is the parent's to stop
            return
        busy = self._stop()
        try:
            if busy:
                raise subprocess.TimeoutExpired(self._proc.args, 0)
            self._proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# The helper's program. SIGINT is ignored before anything else (Ctrl-C is the parent's to handle), and
# stdout is kept for the answers before any import can print: a stray print goes where stderr goes.
_HELPER_CODE = ("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "import os; answers = os.dup(1); os.dup2(2, 1)\n"
                "import json, sys; sys.path[:] = json.loads(sys.argv[1])\n"
                "from mtaudit.stages.score import _serve; _serve(int(sys.argv[2]), answers)\n")


def _serve(parent: int, answers_fd: int) -> None:
    """In the helper: answer each request line on stdin with ``lexical_many`` of its pairs, until EOF."""
    _exit_with_parent(parent)
    answers = os.fdopen(answers_fd, "wb")
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            answer: dict[str, Any] = {"id": request["id"], "values": lexical_many(request["pairs"])}
        except Exception as exc:  # the parent computes it again and raises there
            answer = {"id": request["id"], "error": repr(exc)}
        try:
            answers.write(json.dumps(answer).encode("utf-8") + b"\n")
            answers.flush()
        except OSError:  # the parent is gone
            os._exit(0)


_POOL: LexicalHelper | None = None
_POOL_LOCK = threading.Lock()
_AT_EXIT = False


def _pool() -> LexicalHelper | None:
    """One helper process for the lexical scores, or None where one cannot or should not run.

    Not in a daemonic process (a Dask worker: the cluster already fills the cores) nor with
    ``MTAUDIT_LEXICAL_PROCESS=0``. A fresh interpreter, not a fork: the helper imports only
    sacrebleu and this module, never torch, and never the parent's ``__main__``.
    """
    global _POOL, _AT_EXIT
    if (os.environ.get("MTAUDIT_LEXICAL_PROCESS", "1") == "0" or multiprocessing.current_process().daemon
            or not sys.executable):
        return None
    with _POOL_LOCK:
        if _POOL is None or _POOL.owner != os.getpid():  # a forked child starts its own
            try:
                _POOL = LexicalHelper()
            except OSError:  # no interpreter to start: computed in-process
                return None
            if not _AT_EXIT:
                atexit.register(shutdown_pool)
                _AT_EXIT = True
        return _POOL


def _exit_with_parent(parent: int) -> None:
    """In the helper: end when the parent process is gone, even mid-job (EOF on stdin is seen only between jobs)."""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, daemon=True, name="mtaudit-parent-watch").start()


def shutdown_pool() -> None:
    """Stop the helper process (also run at exit); a later job starts a new one."""
    global _POOL
    with _POOL_LOCK:
        helper, _POOL = _POOL, None
    if helper is not None:
        helper.shutdown()


class LexicalJob:
    """Lexical scores of a list of sentences, cached ones at once, the rest maybe still computing."""
    def __init__(self, hyps: list[str], refs: list[list[str]], settings: Settings, background: bool = True) -> None:
        self.settings = settings
        self.todo = [i for i, rs in enumerate(refs) if rs]
        tag = _lexical_tag()
        self.keys = [f"lex-{tag}:{_hash(hyps[i], *refs[i])}" for i in self.todo]
        self.have = store(settings).get_json(sorted(set(self.keys)))
        self.missing: dict[str, tuple[str, list[str]]] = {}
        for i, k in zip(self.todo, self.keys):
            if k not in self.have and k not in self.missing:
                self.missing[k] = (hyps[i], list(refs[i]))
        self.n = len(hyps)
        self.future: Future[list[dict[str, float]]] | None = None
        pool = _pool() if background and self.missing else None
        if pool is not None:
            try:
                self.future = pool.submit(list(self.missing.values()))
            except RuntimeError:  # a stopped helper: compute here instead
                self.future = None

    def result(self) -> list[dict[str, float] | None]:
        """One dict per sentence (None without references); computed here if the helper could not."""
        if self.missing:
            values = None
            if self.future is not None:
                try:
                    values = self.future.result()
                except Exception:  # the helper died (killed, out of memory): computed here, where a real error re-raises
                    values = None
            if values is None:
                values = lexical_many(list(self.missing.values()))
            new = dict(zip(self.missing, values))
            store(self.settings).put_json(new)
            self.have.update(new)
            self.missing = {}
        out: list[dict[str, float] | None] = [None] * self.n
        for i, k in zip(self.todo, self.keys):
            out[i] = dict(self.have[k])
        return out


def submit_lexical(hyps: list[str], refs: list[list[str]], settings: Settings) -> LexicalJob:
    """Start the lexical scores of these sentences in the helper process; ``.result()`` waits for them."""
    return LexicalJob(hyps, refs, settings)


def semantic(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[float | None]:
    """Best cosine between the sentence and any of its references (MiniLM embeddings), cached per pair."""
    todo = [i for i, rs in enumerate(refs) if rs]
    if not todo:
        return [None] * len(hyps)

    def compute(pos: list[int]) -> list[Any]:
        idx = [todo[p] for p in pos]
        flat = sorted({t for i in idx for t in refs[i]} | {hyps[i] for i in idx})
        vecs = dict(zip(flat, embed.encode(flat, settings)))
        return [round(float(max(vecs[hyps[i]] @ vecs[r] for r in refs[i])), 4) for i in idx]

    tag = _hash(embed.signature())[:8]
    vals = cached(f"cos-{tag}", [_hash(hyps[i], *refs[i]) for i in todo], compute, settings)
    out: list[float | None] = [None] * len(hyps)
    for i, v in zip(todo, vals):
        out[i] = v
    return out


BERTSCORE_SCHEME = "pad8-v1"  # how the token embeddings are batched (see embed.token_vectors); bump on change


def _bertscore_id() -> str:
    return (f"{registry.describe('encoder')}|L{BERTSCORE_LAYER}|bert_score-{registry.package_version('bert-score')}"
            f"-formula|batch:{BERTSCORE_SCHEME}")


def bertscore_f1(hyp: np.ndarray, ref: np.ndarray) -> float:
    """bert-score's F1 (no idf: every word piece weighs 1 but [CLS] and [SEP], which weigh 0) from
    normalised token matrices; greedy matching over all tokens, as bert-score does."""
    sim = hyp @ ref.T
    p = float(sim[1:-1].max(axis=1).mean()) if len(hyp) > 2 else 0.0
    r = float(sim.max(axis=0)[1:-1].mean()) if len(ref) > 2 else 0.0
    f = 2 * p * r / (p + r) if (p + r) else 0.0
    return 0.0 if np.isnan(f) else f


def bertscore(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[float | None]:
    """BERTScore F1 against the best reference (bert-score's formula on the packaged MiniLM, layer 6, no idf,
    no rescaling).

    The token embeddings come from ``embed.token_vectors``, not from the bert-score package:
    the same encoder, layer and word pieces, but padded canonically, so a sentence's score
    does not depend on what else shares its batch (the Dask run equals the single process),
    and a sentence that serves as a reference for several articles of a story is encoded
    once. The value is the package's for the pair scored on its own (checked in
    tests/test_fast_paths.py); in the package's own padded batches a padding position scores a
    cosine of 0 in the greedy max, so for a pair whose best token match is negative its value
    there depends on the batch (the only case where the two differ: none of the 590
    sentences of the 50-article benchmark batch).
    """
    todo = [i for i, rs in enumerate(refs) if rs]
    if not todo:
        return [None] * len(hyps)
    tag = _hash(_bertscore_id())[:8]
    keys = [_hash(hyps[i], *refs[i]) for i in todo]

    def compute(pos: list[int]) -> list[Any]:
        idx = [todo[p] for p in pos]
        texts = list(dict.fromkeys([hyps[i] for i in idx] + [r for i in idx for r in refs[i]]))
        mats = dict(zip(texts, embed.token_vectors(texts, settings)))
        return [round(max(bertscore_f1(mats[hyps[i]], mats[r]) for r in refs[i]), 4) for i in idx]

    vals = cached(f"bertscore-{tag}", keys, compute, settings)
    out: list[float | None] = [None] * len(hyps)
    for i, v in zip(todo, vals):
        out[i] = v
    return out


def lm_stats(texts: list[str], settings: Settings) -> list[dict[str, float]]:
    """Per text: mean and worst-3 mean per-token surprisal (nats) under the LM, cached by text hash."""
    tag = _hash(lm.signature(settings), str(LM_MAX_TOKENS))[:8]

    def compute(pos: list[int]) -> list[Any]:
        clipped = [" ".join(texts[i].split()[: LM_MAX_TOKENS]) for i in pos]  # lm.surprisal batches them by length
        res = dict(zip(pos, lm.surprisal(clipped, settings)))
        out = []
        for i in pos:
            nats = np.asarray(res[i].nats[:LM_MAX_TOKENS] or [0.0])
            worst = np.sort(nats)[-3:]
            out.append({"mean": round(float(nats.mean()), 4), "worst3": round(float(worst.mean()), 4), "n": len(nats)})
        return out

    return cached(f"lm-{tag}", [_hash(t) for t in texts], compute, settings)


def fluency(texts: list[str], settings: Settings) -> list[float]:
    """Mean per-token log-probability (nats, higher = more fluent) under the packaged LM."""
    return [-s["mean"] for s in lm_stats(texts, settings)]


PARAPHRASE_PROMPT = "Sentence: {}\nThe same sentence in other words: "
PARAPHRASE_VERSION = "2"  # bump when the prompt or the reductions change (cache key); 2: the mass beside the mean
MASS_FLOOR = 2.0  # nats: a token the other side predicts at least this well (p >= 0.14) costs nothing


def paraphrase(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[float | None]:
    """How well each sentence and its best reference predict each other under the LM (nats per token, <= 0).

    Prism-style (Thompson and Post, 2020, with a causal LM in place of a paraphraser): the mean
    of log P(sentence | reference) and log P(reference | sentence) per token, after a
    paraphrase prompt; the best reference counts. A dropped or wrong word makes one side hard
    to predict from the other, whatever the wording. Within one source segment it ranks
    systems as well as anything packaged (see models/quality).
    """
    return [None if r is None else r["paraphrase"] for r in paraphrase_scores(hyps, refs, settings)]


def paraphrase_scores(hyps: list[str], refs: list[list[str]], settings: Settings) -> list[dict[str, float] | None]:
    """``paraphrase`` and ``paraphrase_mass`` of each sentence against its best reference (None without one).

    The same two LM passes per (sentence, reference) pair give both. ``paraphrase_mass`` sums,
    over the tokens of both passes, how far each falls below ``MASS_FLOOR`` nats (negated: 0 =
    every token predicted): the error mass. A mean forgives one mistranslated word in a long
    sentence; MQM, a sum of error penalties, does not, and neither does the mass (on the WMT22
    dev rows: pooled Kendall tau 0.331 against the mean's 0.074; see models/quality).
    Two LM passes per pair, so it is only computed where asked for.
    """

    pairs = [(h, r) for h, rs in zip(hyps, refs) for r in rs]
    tag = _hash(lm.signature(settings), PARAPHRASE_PROMPT, PARAPHRASE_VERSION, str(LM_MAX_TOKENS), str(MASS_FLOOR))[:8]

    def compute(pos: list[int]) -> list[Any]:
        fwd = [PARAPHRASE_PROMPT.format(pairs[i][1]) for i in pos]
        back = [PARAPHRASE_PROMPT.format(pairs[i][0]) for i in pos]
        toks = lm.conditional_tokens(fwd + back, [pairs[i][0] for i in pos] + [pairs[i][1] for i in pos], settings, LM_MAX_TOKENS)
        return [pair_stats(a, b) for a, b in zip(toks[: len(pos)], toks[len(pos) :])]

    vals = iter(cached(f"para-{tag}", [_hash(h, r) for h, r in pairs], compute, settings))
    out: list[dict[str, float] | None] = []
    for rs in refs:
        got = [next(vals) for _ in rs]
        out.append({"paraphrase": max(g[0] for g in got), "paraphrase_mass": max(g[1] for g in got)} if got else None)
    return out


def pair_stats(forward: np.ndarray, backward: np.ndarray) -> list[float]:
    """[mean log-probability of the two directions, error mass of both] from their token log-probabilities."""
    mean = lambda v: float(v.mean()) if len(v) else 0.0  # noqa: E731
    mass = float(np.minimum(forward + MASS_FLOOR, 0.0).sum() + np.minimum(backward + MASS_FLOOR, 0.0).sum())
    return [round((mean(forward) + mean(backward)) / 2, 4), round(mass, 4)]


def features(
    hyps: list[str], refs: list[list[str]], settings: Settings, use_lm: bool = True, lm_mask: list[bool] | None = None,
    lexical_job: LexicalJob | None = None, with_paraphrase: bool = False,
) -> list[dict[str, float | None]]:
    """Every raw score the quality model may use, one dict per sentence (empty without references).

    The LM runs on sentences with references, and only where ``lm_mask`` is true if given;
    ``with_paraphrase`` adds the LM's ``paraphrase`` and ``paraphrase_mass`` there (the full quality model reads the mass).
    ``lexical_job`` (from ``submit_lexical`` on the same sentences) is collected last, so
    the helper process computes TER while this one runs the neural scores.
    """
    job = lexical_job or LexicalJob(hyps, refs, settings, background=False)
    sem = semantic(hyps, refs, settings)
    bs = bertscore(hyps, refs, settings)
    has = [i for i, rs in enumerate(refs) if rs and (lm_mask is None or lm_mask[i])]
    lmv: dict[int, dict[str, float]] = {}
    para: dict[int, dict[str, float] | None] = {}
    if use_lm and has:
        lmv = dict(zip(has, lm_stats([hyps[i] for i in has], settings)))
        if with_paraphrase:
            para = dict(zip(has, paraphrase_scores([hyps[i] for i in has], [refs[i] for i in has], settings)))
    lex = job.result()
    out: list[dict[str, float | None]] = []
    for i, (h, rs) in enumerate(zip(hyps, refs)):
        if not rs:
            out.append({})
            continue
        row: dict[str, float | None] = {**(lex[i] or {}), "semantic": sem[i], "bertscore": bs[i]}
        ratio = len(h) / max(np.mean([len(r) for r in rs]), 1.0)
        row["len_ratio"] = round(float(ratio), 4)
        # exposure: the longer the content, the more chances of an error. Taken from the references, so
        # that among versions of the same content (one reference) the ranking is by quality alone.
        row["log_ref_words"] = round(float(np.log1p(np.mean([len(r.split()) for r in rs]))), 4)
        if i in lmv:
            row["lm_mean"] = lmv[i]["mean"]
            row["lm_worst3"] = lmv[i]["worst3"]
        if para.get(i):
            row.update(para[i])  # type: ignore[arg-type]
        out.append(row)
    for row, value in zip(out, estimator_scores(hyps, refs, out, settings)):
        if value is not None:
            row["estimator"] = value
    return out


def estimator_scores(hyps: list[str], refs: list[list[str]], rows: list[dict[str, float | None]], settings: Settings) -> list[float | None]:
    """The estimator's raw score of each sentence: its best over the references (None without one).

    It reads the scores already in ``rows`` and the texts; no model and no cache beyond them.
    """
    if q.estimator() is None:
        return [None] * len(hyps)
    inputs = [q.lexical_inputs(row) if rs else None for rs, row in zip(refs, rows)]
    pairs = [(i, r) for i, rs in enumerate(refs) if inputs[i] is not None for r in rs]
    if not pairs:
        return [None] * len(hyps)
    lex = np.asarray([inputs[i] for i, _ in pairs])
    text = np.asarray([q.text_inputs(hyps[i], r) for i, r in pairs])
    raw = q.estimate(lex, text, hold_length=q.length_mode(settings) == "held")
    out: list[float | None] = [None] * len(hyps)
    for (i, _), v in zip(pairs, raw):  # type: ignore[arg-type]
        v = round(float(v), 4)
        out[i] = v if out[i] is None else max(out[i], v)  # type: ignore[type-var]
    return out


def score(
    hyps: list[str], refs: list[list[str]], settings: Settings, use_lm: bool = False, fluency_for: list[bool] | None = None,
    lexical_job: LexicalJob | None = None,
) -> list[Scores]:
    """One Scores per sentence; all None where it has no reference good enough to score against.

    The LM is the slow part (about 10 sentences/s on 2 cores, against hundreds for the rest),
    too slow for every sentence of a 500-article batch. So by default quality comes from the
    fitted model without LM (``fast``) for every sentence alike, and the LM ``fluency`` is
    computed only where ``fluency_for`` says (the pipeline passes its flagged sentences).
    ``use_lm=True`` runs the LM on every sentence with references and uses the ``full`` model.
    """

    mask = None if use_lm else (fluency_for or [False] * len(hyps))
    out = []
    for feats in features(hyps, refs, settings, use_lm=use_lm or any(mask or []), lm_mask=mask, lexical_job=lexical_job,
                          with_paraphrase=use_lm):
        if not feats:
            out.append(Scores())
            continue
        lm_mean = feats.get("lm_mean")
        qual = q.combine(feats, variants=None if use_lm else q.AUDIT_VARIANTS)
        out.append(Scores(
            chrf=feats["chrf"], bleu=feats["bleu"], ter=feats["ter"], semantic=feats["semantic"],
            bertscore=feats["bertscore"], fluency=None if lm_mean is None else round(-float(lm_mean), 4),
            quality=qual,
        ))
    return out


def quality(lex: dict[str, float], sem: float | None) -> float | None:
    """Deprecated shape kept for old callers: quality from whatever features are given."""
    return q.combine({**lex, "semantic": sem}) if sem is not None else None


def signatures(settings: Settings, use_lm: bool = False) -> dict[str, str]:
    """How every score field was computed, as sacrebleu prints its signatures."""
    m = metrics()

    return {
        "chrf": "chrF2++|" + str(m["chrf"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "bleu": "BLEU|" + str(m["bleu"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "ter": "TER|" + str(m["ter"].get_signature()).replace("nrefs:1", "nrefs:var"),  # type: ignore[attr-defined]
        "semantic": f"cos-max|{embed.signature()}",
        "bertscore": f"BERTScore-F1-max|{_bertscore_id()}|idf:no|rescale:no",
        "fluency": f"mean-token-logprob|{lm.signature(settings)}|max_words:{LM_MAX_TOKENS}|flagged-sentences-with-references-only",
        "paraphrase": f"prism-mean-both-ways|{lm.signature(settings)}|max_tokens:{LM_MAX_TOKENS}|v{PARAPHRASE_VERSION}|best-ref|meta-eval-and-full-only",
        "paraphrase_mass": f"prism-mass-both-ways|floor:{MASS_FLOOR}nats|{lm.signature(settings)}|max_tokens:{LM_MAX_TOKENS}|v{PARAPHRASE_VERSION}"
                           "|best-ref|meta-eval-and-full-only",
        "quality": quality_signature(use_lm, settings),
    }


def quality_signature(use_lm: bool = False, settings: Settings | None = None) -> str:
    """The quality signature: the model the audit's quality comes from, its version, and how it used the length."""
    if q.estimator() is not None:
        return q.signature("estimator", q.length_mode(settings)) + "|used:estimator"
    return q.signature("logistic") + ("|used:full(with LM)" if use_lm else "|used:fast(no LM)")


def mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.mean(vals)), 4) if vals else None

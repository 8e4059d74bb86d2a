"""make profile's reading of py-spy's raw stacks: categories, wall shares, the flame graph."""

from __future__ import annotations

import xml.dom.minidom
from pathlib import Path

import pytest

from mtaudit.lab import profile

MAIN = 'process 10:"python -m mtaudit.lab.profile"'
STACKS = [
    f"{MAIN};thread (10): MainThread;iter_audit (mtaudit/stages/pipeline.py:59);model_verdict (mtaudit/stages/detect.py:200);"
    "surprisal (mtaudit/nlp/lm.py:80);Linear.forward (torch/nn/modules/linear.py:120) 60",
    f"{MAIN};thread (10): MainThread;iter_audit (mtaudit/stages/pipeline.py:59);group (mtaudit/stages/stories.py:280);"
    "entities (mtaudit/stages/stories.py:100);__call__ (spacy/language.py:1000) 25",
    f"{MAIN};thread (10): MainThread;iter_audit (mtaudit/stages/pipeline.py:59);_finish (mtaudit/stages/pipeline.py:169);"
    "write_article (mtaudit/report/write.py:40) 15",
    f"{MAIN};thread (11): mtaudit-lexical-reader;_read (mtaudit/stages/score.py:250) 100",
    # the helper's command line holds a newline: the line goes on
    f'{MAIN};process 12:"python -c import x\nserve()";thread (12);_serve (mtaudit/stages/score.py:290) 70',
    f'{MAIN};process 12:"python -c import x\nserve()";thread (12);BeamEditDistance._edit_distance (sacrebleu/metrics/lib_ter.py:9) 30',
]
RAW = "\n".join(STACKS) + "\n"


# py-spy writes the stacks in no set order: here the helper's come first, as in a real profile of 2026-12-07
HELPER_FIRST = "\n".join(STACKS[::-1]) + "\n"


@pytest.mark.parametrize("raw", [RAW, HELPER_FIRST], ids=["main-first", "helper-first"])
def test_shares_of_the_main_thread_by_kind_and_stage(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "raw.txt"
    path.write_text(raw, encoding="utf-8")
    stacks = profile.read_raw(path)
    assert len(stacks) == 6
    got = profile.shares(stacks)
    assert got["main_samples"] == 100  # the main thread only: its samples are the wall time
    assert got["categories"]["LM (SmolLM2 surprisal)"] == 60
    assert got["categories"]["spaCy (tagger, entities)"] == 25
    assert got["categories"]["reports (JSON, Markdown)"] == 15
    assert got["stages"][("model_verdict (mtaudit/stages/detect.py)", "LM (SmolLM2 surprisal)")] == 60
    assert got["helper_busy_samples"] == 30  # waiting in _serve is not work
    text = profile.table(got, seconds=10.0)
    assert "| LM (SmolLM2 surprisal) | 60.0% | 6.0 |" in text
    svg = profile.flame_svg(stacks, "test")
    xml.dom.minidom.parseString(svg)  # well-formed
    assert "model_verdict" in svg and "_serve" not in svg  # the main process alone

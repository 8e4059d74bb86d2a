"""The Python API: DataFrames from an audit and from a reports folder, through one code path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import mtaudit
from mtaudit import api, report
from tests.conftest import SEEDS

SEED_000 = next(SEEDS.glob("000_*.txt"))
SEED_001 = next(SEEDS.glob("001_*.txt"))


@pytest.fixture(scope="module")
def seed_frames(seed_result: Any) -> api.Result:
    return api.from_reports(seed_result.reports, seed_result.problems)


@pytest.fixture(scope="module")
def reports_dir(seed_result: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed reports as `mtaudit audit` writes them (JSON, Markdown, summary)."""
    out = tmp_path_factory.mktemp("reports")
    for rep in seed_result.reports:
        report.write_article(rep, out, ("json", "md"))
    report.write_summary(
        seed_result.reports,
        [{"source": "gone.txt", "level": "error", "code": "E_READ", "message": "no such file"}],
        out,
        {"version": mtaudit.__version__},
    )
    return out


def test_package_exports() -> None:
    assert mtaudit.audit is api.audit and mtaudit.load_reports is api.load_reports
    assert mtaudit.__version__
    with pytest.raises(AttributeError):
        _ = mtaudit.no_such_name  # type: ignore[attr-defined]


def test_columns_are_the_documented_ones(seed_frames: api.Result) -> None:
    assert list(seed_frames.articles.columns) == api.ARTICLE_COLUMNS
    assert list(seed_frames.sentences.columns) == api.SENTENCE_COLUMNS
    assert list(seed_frames.spans.columns) == api.SPAN_COLUMNS
    assert list(seed_frames.references.columns) == api.REFERENCE_COLUMNS
    for col in api.ARTICLE_COLUMNS + api.SENTENCE_COLUMNS + api.SPAN_COLUMNS + api.REFERENCE_COLUMNS:
        assert col in (api.__doc__ or ""), f"column {col} is not documented in mtaudit/api.py"


def test_empty_batch_has_the_same_shape() -> None:
    empty = api.from_reports([])
    assert list(empty.sentences.columns) == api.SENTENCE_COLUMNS and len(empty.sentences) == 0
    assert empty.sentences["flagged"].dtype == bool
    assert "0 articles" in repr(empty)


def test_column_types_do_not_depend_on_the_data(seed_result: Any, seed_frames: api.Result) -> None:
    """An abstained verdict and an article with no references leave the types as they are on the seeds."""
    import copy

    lone = copy.deepcopy(next(r for r in seed_result.reports if Path(r["source"]).name.startswith("001")))
    lone["verdict"].update(machine_translated=None, abstained=True)
    for s in lone["sentences"]:
        s.update(scores={}, references=[], model_probability=None)
    odd = api.from_reports([lone])
    for name in ("articles", "sentences", "references"):
        assert getattr(odd, name).dtypes.to_dict() == getattr(seed_frames, name).dtypes.to_dict(), name
    arts = api.from_reports([*seed_result.reports, lone]).articles
    assert len(arts[arts.machine_translated]) == 2  # <NA> (abstained) is not selected, and does not raise
    assert odd.articles.mean_chrf.isna().all() and odd.sentences.chrf.round(1).isna().all()


def test_articles_rank_the_machine_translations_first(seed_frames: api.Result) -> None:
    arts = seed_frames.articles.sort_values("probability", ascending=False)
    top = [Path(s).name[:3] for s in arts["source"].head(2)]
    assert sorted(top) == ["000", "002"]
    assert arts["machine_translated"].tolist()[0] is True and arts["machine_translated"].tolist()[1] is not False
    row = arts.set_index(arts["source"].map(lambda s: Path(s).name[:3])).loc["000"]
    assert row["flagged_sentences"] > 0 and row["spans"] >= 4
    assert any("the eleventh" in r for r in row["reasons"])
    assert row["signature"].startswith("mtaudit:")


def test_one_row_per_sentence_and_span(seed_result: Any, seed_frames: api.Result) -> None:
    reps = seed_result.reports
    assert len(seed_frames.articles) == len(reps)
    assert len(seed_frames.sentences) == sum(len(r["sentences"]) for r in reps)
    assert len(seed_frames.spans) == sum(len(s["spans"]) for r in reps for s in r["sentences"])
    assert len(seed_frames.references) == sum(len(s["references"]) for r in reps for s in r["sentences"])
    sents = seed_frames.sentences
    assert sents["position"].between(0, 1).all()
    assert sents.groupby("article_id")["position"].max().eq(1.0).all()
    by_spans = sents["flagged"] & ~sents["flagged_by_model"]
    assert by_spans.any() and (sents.loc[by_spans, "n_spans"] > 0).all()  # a flag is explained: spans, or the sentence model


def test_span_rows_carry_the_evidence(seed_frames: api.Result) -> None:
    spans = seed_frames.spans
    eleventh = spans[(spans["text"] == "the eleventh") & spans["source"].str.contains("000_")]
    assert len(eleventh) >= 1
    assert set(eleventh["suggestion"]) == {"Xi"} and set(eleventh["kind"]) == {"name_as_word"}
    assert (eleventh["n_support"] >= 2).all() and all(isinstance(s, list) for s in eleventh["support"])
    text = SEED_000.read_text(encoding="utf-8")
    for row in spans[spans["source"].str.contains("000_")].itertuples():
        assert text[row.start : row.end] == row.text


def test_sentence_rows_line_up_with_references_and_repairs(seed_frames: api.Result) -> None:
    sents = seed_frames.sentences
    shin = sents[sents["text"].str.contains("Shinchoa")].iloc[0]
    assert shin["flagged"] and shin["repaired"] == shin["text"].replace("Shinchoa", "Xinhua")
    refs = seed_frames.references
    mine = refs[(refs["article_id"] == shin["article_id"]) & (refs["sentence_index"] == shin["index"])]
    best = mine.sort_values("rank").iloc[0]
    assert best["similarity"] == mine["similarity"].max() == shin["best_reference_similarity"]
    assert best["text"] == shin["best_reference"] and best["ref_source"] == shin["best_reference_source"]
    no_ref = sents[sents["n_references"] == 0]
    assert no_ref["best_reference"].isna().all() and no_ref["chrf"].isna().all()


def test_load_reports_gives_the_same_frames(reports_dir: Path, seed_frames: api.Result) -> None:
    loaded = api.load_reports(reports_dir)
    order = {r["article_id"]: i for i, r in enumerate(loaded.reports)}
    assert [r["source"] for r in loaded.reports] == sorted(r["source"] for r in loaded.reports)
    for name in ("articles", "sentences", "spans", "references"):
        fresh = getattr(seed_frames, name)
        fresh = fresh.iloc[fresh["article_id"].map(order).argsort(kind="stable")].reset_index(drop=True)
        pd.testing.assert_frame_equal(getattr(loaded, name), fresh, check_dtype=False)
    assert [(p.source, p.code) for p in loaded.problems] == [("gone.txt", "E_READ")]  # from summary.json


def test_load_reports_survives_bad_files(reports_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    shutil.copytree(reports_dir, folder)
    (folder / "0123456789abcdef.json").write_text("{not json", encoding="utf-8")
    broken = json.loads(next(folder.glob("*.json")).read_text(encoding="utf-8"))
    del broken["verdict"]
    (folder / "fedcba9876543210.json").write_text(json.dumps(broken), encoding="utf-8")
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not a report name: ignored
    loaded = api.load_reports(folder)
    assert len(loaded.reports) == 5
    codes = {Path(p.source).name: p.code for p in loaded.problems}
    assert codes["0123456789abcdef.json"] == "E_REPORT" and codes["fedcba9876543210.json"] == "E_SCHEMA"
    assert "notes.json" not in codes and "summary.json" not in codes
    with pytest.raises(FileNotFoundError):
        api.load_reports(tmp_path / "missing")


def test_strings_that_name_files_are_paths(tmp_path: Path) -> None:
    paths, texts = api._split_inputs([str(SEED_001), SEED_000, "Some article text that is not a file.", tmp_path / "missing.txt"])
    assert paths == [SEED_001, SEED_000, tmp_path / "missing.txt"]
    assert texts == ["Some article text that is not a file."]
    assert api._split_inputs(str(SEED_001)) == ([SEED_001], [])
    with pytest.raises(TypeError):
        api._split_inputs([42])  # type: ignore[list-item]


def test_a_mistyped_path_is_a_missing_path_not_an_article(tmp_path: Path) -> None:
    """It was audited as a one-word text: "<text 0>: only 0 words of prose [E_EMPTY]", the path named nowhere."""
    typo = str(tmp_path / "seeds-typo")
    res = mtaudit.audit([typo])
    assert [str(p) for p in res.problems] == [f"error: {typo}: no such file or folder [E_READ]"]
    assert res.reports == []
    chinese = "中国商务部周六表示，已批准部分稀土磁体出口许可证。"  # no spaces, yet prose: it ends as a sentence does
    paths, texts = api._split_inputs(["seeds-typo", "notes/day one.txt", chinese, "A one-line article, spaces and all."])
    assert paths == [Path("seeds-typo"), Path("notes/day one.txt")]
    assert texts == [chinese, "A one-line article, spaces and all."]


def test_audit_files_and_texts_together() -> None:
    """A raw text joins the story of a file; keyword overrides reach the settings and the signature."""
    text = "".join(SEED_000.read_text(encoding="utf-8").splitlines(keepends=True)[:9])  # up to "Shinchoa": keeps it quick
    assert "the eleventh" in text and "Shinchoa" in text
    res = mtaudit.audit([str(SEED_001), text], sentence_threshold=0.45)
    assert sorted(res.articles["source"]) == sorted([str(SEED_001), "<text 0>"])
    assert res.articles["story_id"].nunique() == 1 and res.articles["story_id"].notna().all()
    assert res.articles["signature"].str.contains("sent_thr:0.45").all()
    mt = res.articles.set_index("source").loc["<text 0>"]
    assert mt["probability"] > res.articles.set_index("source").loc[str(SEED_001), "probability"]
    assert set(res.sentences["source"]) == {str(SEED_001), "<text 0>"}
    assert res.report("<text").get("source") == "<text 0>"

"""Settings layer in order: defaults, then the TOML file, then MTAUDIT_* environment, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtaudit.base.settings import Settings, load_settings


def test_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[audit]\nalign_top_k = 7\nrare_zipf = 0.5\nbatch_size = 8\n[nightly]\nfeeds = []\n")
    monkeypatch.setenv("MTAUDIT_RARE_ZIPF", "0.8")
    s = load_settings(cfg, batch_size=16, device=None)
    assert s.align_top_k == 7  # file
    assert s.rare_zipf == 0.8  # environment beats file
    assert s.batch_size == 16  # flag beats all
    assert s.device == Settings().device  # None flag leaves the lower layer


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text("[audit]\nalign_topk = 7\n")
    with pytest.raises(ValueError, match="unknown setting 'align_topk'"):
        load_settings(cfg)


@pytest.mark.parametrize("device,ok", [("auto", True), ("cpu", True), ("cuda", True), ("gpu", False), ("", False)])
def test_device_values(device: str, ok: bool) -> None:
    if ok:
        assert load_settings(None, device=device).device == device
    else:
        with pytest.raises(ValueError, match="not one of"):
            load_settings(None, device=device)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("On", True), ("0", False), ("false", False), ("", False)])
def test_low_memory_from_the_environment(raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTAUDIT_LOW_MEMORY", raw)
    assert load_settings(None).low_memory is expected


def test_low_memory_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "mtaudit.toml"
    path.write_text("[audit]\nlow_memory = false\n")
    assert load_settings(path).low_memory is False
    assert Settings().low_memory is True  # bounded memory by default: 2.59 GB at 1,500 articles without it


def test_low_memory_typo_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTAUDIT_LOW_MEMORY", "ture")
    with pytest.raises(ValueError, match="yes/no"):
        load_settings(None)


@pytest.mark.parametrize(("raw", "ok"), [("0.05", True), ("0.5", True), ("0.999", True), ("0", False), ("1", False), ("-0.1", False)])
def test_mt_prior_is_a_share(raw: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTAUDIT_MT_PRIOR", raw)
    if ok:
        assert load_settings(None).mt_prior == float(raw)
    else:
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            load_settings(None)


@pytest.mark.parametrize("precision,ok", [("auto", True), ("float32", True), ("bfloat16", True), ("float16", False), ("bf16", False)])
def test_lm_precision_values(precision: str, ok: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTAUDIT_LM_PRECISION", precision)
    if ok:
        assert load_settings(None).lm_precision == precision
    else:
        with pytest.raises(ValueError, match="lm_precision"):
            load_settings(None)


@pytest.mark.parametrize("var,value,message", [
    ("MTAUDIT_ARTICLE_THRESHOLD", "abc", "environment variable MTAUDIT_ARTICLE_THRESHOLD: article_threshold: 'abc' is not a number"),
    ("MTAUDIT_BATCH_SIZE", "8.5", "environment variable MTAUDIT_BATCH_SIZE: batch_size: '8.5' is not a whole number"),
    ("MTAUDIT_SENTENCE_LM", "maybe", "environment variable MTAUDIT_SENTENCE_LM: sentence_lm: 'maybe' is not a yes/no value"),
])
def test_a_bad_environment_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ValueError) as err:
        load_settings(None)
    assert str(err.value).startswith(message)


def test_a_bad_file_value_names_its_file(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('[audit]\nrare_zipf = "low"\n')
    with pytest.raises(ValueError, match=r"m\.toml: rare_zipf: 'low' is not a number"):
        load_settings(cfg)


def test_replace_refuses_unknown_names_and_bad_values() -> None:
    """What mtaudit.audit(..., **changes) uses: a typo is named with the known keys, not a TypeError."""
    assert Settings().replace(sentence_threshold=0.7).sentence_threshold == 0.7
    with pytest.raises(ValueError, match=r"unknown setting 'sentence_treshold' \(known: .*sentence_threshold"):
        Settings().replace(sentence_treshold=0.7)
    with pytest.raises(ValueError, match=r"mt_prior 1\.0 must lie strictly between 0 and 1"):
        Settings().replace(mt_prior=1.0)


def test_the_library_default_reads_the_environment_not_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mtaudit.audit() takes MTAUDIT_* as the CLI does, but not a ./mtaudit.toml that happens to be where it runs."""
    import mtaudit
    from mtaudit.stages import pipeline

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mtaudit.toml").write_text("[audit]\nrare_zipf = 0.25\n")
    monkeypatch.setenv("MTAUDIT_SENTENCE_THRESHOLD", "0.7")
    assert load_settings().rare_zipf == 0.25  # the CLI reads the folder's file
    seen: list[Settings] = []
    monkeypatch.setattr(pipeline, "audit", lambda paths, settings, **kw: seen.append(settings) or pipeline.AuditResult([], []))
    mtaudit.audit(["A text long enough to be taken for an article, not a path."], rare_zipf=1.5)
    assert seen[0].sentence_threshold == 0.7 and seen[0].rare_zipf == 1.5
    assert load_settings(default_file=False).rare_zipf == Settings().rare_zipf

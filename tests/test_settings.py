"""Settings layer in order: defaults, then the TOML file, then MTAUDIT_* environment, then flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtaudit.settings import Settings, load_settings


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

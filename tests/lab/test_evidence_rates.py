"""mtaudit.lab.evidence_rates: the share of each kind of text that today's evidence rule and a length-scaled one count."""

from __future__ import annotations

import pytest

from mtaudit.lab import evidence_rates
from mtaudit.stages import detect


def row(kind: str, n: int, sure: int, p: float = 0.9) -> dict[str, object]:
    return {"kind": kind, "corpus": "x", "id": f"{kind}-{n}-{sure}", "n": n, "p": p, "sure": sure}


def test_tail_is_the_binomial_upper_tail() -> None:
    assert evidence_rates.tail(0, 10, 0.1) == pytest.approx(1.0)
    assert evidence_rates.tail(1, 10, 0.1) == pytest.approx(1 - 0.9**10)
    assert evidence_rates.tail(2, 16, 0.069) == pytest.approx(1 - 0.931**16 - 16 * 0.069 * 0.931**15)


def test_table_counts_each_rule_by_kind() -> None:
    # originals: 160 sentences, 8 sure (5%); one long original reaches two by chance, which only today's rule counts
    originals = [row("t_original", 16, 2, p=0.2)] + [row("t_original", 16, 1, p=0.2)] * 6 + [row("t_original", 16, 0, p=0.6)] * 3
    trips = [row("rt_spa", 8, 4), row("rt_spa", 30, 2), row("rt_spa", 6, 1, p=0.4)]
    result = evidence_rates.table(originals + trips)
    assert result["original_rate"] == pytest.approx(8 / 160)
    assert result["rule_needs"] == detect.STRONG_SENTENCES
    orig, rt = result["kinds"]["t_original"], result["kinds"]["rt_spa"]
    assert (orig["documents"], orig["sentences"], orig["sure_share"]) == (10, 160, 0.05)
    assert orig["rule_share"] == 0.1 and orig["scaled_rule_share"] == 0.0  # tail(2, 16, 0.05) = 0.19 > 0.05
    assert (orig["read_mt"], orig["rule_read_mt"]) == (3, 0)
    # 4 of 8 is rare for an original (tail 0.0004); 2 of 30 is not (0.45); 1 of 6 is under today's rule
    assert rt["rule_share"] == pytest.approx(2 / 3, abs=1e-4) and rt["scaled_rule_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert (rt["read_mt"], rt["rule_read_mt"]) == (2, 2)
    assert "| rt_spa | 3 | 44 |" in evidence_rates.markdown(result)


def test_a_folder_without_documents_is_a_clear_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert evidence_rates.main([str(tmp_path)]) == 2
    assert "make-data" in capsys.readouterr().err

"""Reading labelled CSVs: every bad input is refused with file, column and row named."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.corpus import (
    DEFAULT_LABELS,
    HELDOUT_CSV,
    SEED_DIR,
    LabelledData,
    TrainingDataError,
    data_sha256,
    heldout_corpus,
    read_labelled_csv,
    seed_corpus,
)


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_reads_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'text,label\n"Trộm xe, giúp với",crime_report\nchào cả nhà,normal\n')
    data = read_labelled_csv(path)
    assert data.texts == ("Trộm xe, giúp với", "chào cả nhà")
    assert data.labels == ("crime_report", "normal")
    assert data.ids == ("data.csv:2", "data.csv:3")
    assert data.source == str(path)


def test_custom_columns_and_ids(tmp_path: Path) -> None:
    path = write(tmp_path, "noi_dung,nhan,ma\nabc,1,x1\ndef,0,x2\n")
    data = read_labelled_csv(path, text_column="noi_dung", label_column="nhan", id_column="ma")
    assert data.labels == ("1", "0")
    assert data.ids == ("x1", "x2")


def test_utf8_bom_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nxin chào,a\ntạm biệt,b\n".encode("utf-8-sig"))
    assert read_labelled_csv(path).texts == ("xin chào", "tạm biệt")


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "message,category\nabc,x\ndef,y\n")
    with pytest.raises(TrainingDataError) as err:
        read_labelled_csv(path)
    message = str(err.value)
    assert str(path) in message
    assert "'text'" in message and "'label'" in message
    assert "'message'" in message and "'category'" in message


def test_empty_texts_name_their_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nabc,x\n,y\n   ,x\nok,y\n")
    with pytest.raises(TrainingDataError, match=r"'text' is empty in row\(s\) 3, 4"):
        read_labelled_csv(path)


def test_empty_labels_name_their_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nabc,x\ndef,\n")
    with pytest.raises(TrainingDataError, match=r"'label' is empty in row\(s\) 3"):
        read_labelled_csv(path)


def test_single_class_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "text,label\nabc,spam\ndef,spam\n")
    with pytest.raises(TrainingDataError, match="single class"):
        read_labelled_csv(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("text,label\n", "no data rows"),
    ],
)
def test_empty_files(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(TrainingDataError, match=message):
        read_labelled_csv(write(tmp_path, content))


def test_legacy_encoding_names_offset_and_line(tmp_path: Path) -> None:
    content = "text,label\nxin chào,a\n".encode() + "cà phê,b\n".encode("cp1252")
    with pytest.raises(TrainingDataError) as err:
        read_labelled_csv(write(tmp_path, content))
    message = str(err.value)
    assert "not valid UTF-8" in message
    assert "line 3" in message
    assert "byte offset" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no such file"):
        read_labelled_csv(tmp_path / "nope.csv")


def test_data_sha256_is_stable_and_sensitive() -> None:
    a = LabelledData(("x", "y"), ("1", "0"), ("a", "b"), "s")
    same = LabelledData(("x", "y"), ("1", "0"), ("other", "ids"), "elsewhere")
    relabelled = LabelledData(("x", "y"), ("0", "0"), ("a", "b"), "s")
    shifted = LabelledData(("xy", ""), ("1", "0"), ("a", "b"), "s")
    assert data_sha256(a) == data_sha256(same)
    assert len({data_sha256(a), data_sha256(relabelled), data_sha256(shifted)}) == 3


def test_labelled_data_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="2 texts, 1 labels"):
        LabelledData(("a", "b"), ("x",), ("1", "2"), "s")


@pytest.mark.skipif(not any(SEED_DIR.glob("*.csv")), reason="no seed corpus yet")
def test_seed_corpus_uses_the_default_taxonomy() -> None:
    seed = seed_corpus()
    assert len(seed) > 0
    assert seed.label_set <= set(DEFAULT_LABELS)
    assert len(set(seed.ids)) == len(seed.ids)


@pytest.mark.skipif(not HELDOUT_CSV.is_file(), reason="no held-out split yet")
def test_heldout_is_disjoint_from_seed() -> None:
    heldout = heldout_corpus()
    assert heldout.label_set <= set(DEFAULT_LABELS)
    if any(SEED_DIR.glob("*.csv")):
        assert not set(heldout.texts) & set(seed_corpus().texts)


def test_seed_directory_without_files(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no seed CSV"):
        seed_corpus(tmp_path)


def test_seed_files_with_one_label_each_merge(tmp_path: Path) -> None:
    write(tmp_path, "id,label,kind,text\na1,scam,chat,chuyển khoản\n", "a.csv")
    write(tmp_path, "id,label,kind,text\nb1,normal,chat,chào\n", "b.csv")
    seed = seed_corpus(tmp_path)
    assert seed.labels == ("scam", "normal")
    assert seed.ids == ("a1", "b1")

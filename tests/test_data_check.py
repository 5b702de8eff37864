"""`studylib data check`: a file that is there but malformed is "invalid" with its first error, never "missing"."""
import pytest

from studylib.cli import main
from studylib.data import check, synthetic


@pytest.fixture()
def fer_dir(tmp_path, monkeypatch):
    """A small generated FER2013 + FERPlus pair (no GENERATED.txt: checked as a user's real files)."""
    monkeypatch.setenv("STUDYLIB_CACHE", str(tmp_path / "cache"))
    synthetic.make_fer(tmp_path / "data", n_per_class=(3, 1, 1), blank=0)
    return tmp_path / "data"


def _rewrite_line(path, number, edit):
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("".join(lines))


def _row(df, dataset):
    return df.set_index("dataset").loc[dataset]


def test_wrong_header_is_invalid_with_the_error_and_a_fix(fer_dir, capsys):
    csv = fer_dir / "fer2013" / "fer2013.csv"
    _rewrite_line(csv, 1, lambda _: "emotion,pixel,Usage\n")
    row = _row(check.check(fer_dir), "FER2013")
    assert row["status"] == "invalid" and row["where"] == str(csv)
    assert str(csv) in row["error"] and "['pixels']" in row["error"] and "emotion,pixels,Usage" in row["error"]
    assert main(["data", "check", "--data-dir", str(fer_dir)]) == 1
    out = capsys.readouterr().out
    assert f"- FER2013: invalid: {csv}: missing column(s) ['pixels']" in out
    assert "fix: the file is in the right place but unusable" in out
    assert f"put it at {csv}" not in out and "missing or invalid" in out


def test_a_bad_row_is_invalid_naming_its_line(fer_dir, capsys):
    csv = fer_dir / "fer2013" / "fer2013.csv"
    _rewrite_line(csv, 5, lambda line: "9" + line[1:])  # emotion 9: not a label
    row = _row(check.check(fer_dir), "FER2013")
    assert row["status"] == "invalid"
    assert f"{csv}, line 5: emotion '9'" in row["error"]
    assert main(["data", "check", "--data-dir", str(fer_dir)]) == 1
    assert f"- FER2013: invalid: {csv}, line 5" in capsys.readouterr().out


def test_malformed_ferplus_votes_are_invalid(fer_dir):
    csv = fer_dir / "ferplus" / "fer2013new.csv"
    _rewrite_line(csv, 4, lambda line: line.rstrip("\n").rsplit(",", 1)[0] + ",-1\n")  # a negative vote
    df = check.check(fer_dir)
    assert _row(df, "FER2013")["status"] != "invalid"
    row = _row(df, "FERPlus votes")
    assert row["status"] == "invalid" and f"{csv}, line 4" in row["error"]


def test_absent_file_is_still_missing_with_where_to_put_it(fer_dir, capsys):
    (fer_dir / "fer2013" / "fer2013.csv").unlink()
    assert _row(check.check(fer_dir), "FER2013")["status"] == "missing"
    main(["data", "check", "--data-dir", str(fer_dir)])
    assert f"- FER2013: put it at {fer_dir / 'fer2013' / 'fer2013.csv'}" in capsys.readouterr().out


def test_an_image_folder_without_images_is_invalid_not_missing(fer_dir):
    (fer_dir / "plant-seedlings" / "Charlock").mkdir(parents=True)
    row = _row(check.check(fer_dir), "Plant Seedlings")
    assert row["status"] == "invalid" and "no images found" in row["error"]
    assert _row(check.check(fer_dir), "LFW faces 8x30")["status"] == "missing"

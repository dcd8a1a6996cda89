"""`vaeviewer compare` from the command line: a tiny full run, and refusals before training."""

import json

import pytest

from vaeviewer.cli import main

DATA = ["--demo", "--demo-frames", "80", "--frame-size", "16x20", "--filters", "4,8", "--inner-dim", "8",
        "--latent-dim", "2", "--windows", "4", "--precision", "float32", "--valid-fraction", "0.25", "--seed", "1"]
TINY = [*DATA, "--batch-size", "8"]


def _main(argv):
    try:
        return main(argv)
    except SystemExit as exc:   # argparse's own refusals
        return exc.code


def test_compare_writes_four_rows_by_default(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", *TINY, "--epochs", "1", "--steps-per-epoch", "2", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rows = json.loads(captured.out)
    assert [(r["variant"], r["window"], r["stateful"]) for r in rows] == [
        ("conv2d", 1, False), ("conv3d", 4, False), ("convlstm", 4, False), ("convlstm-stateful", 4, True)]
    assert rows == json.loads((out / "compare.json").read_text())
    for name in ("compare.csv", "compare.png", "conv2d/config.json", "conv3d-w4/best.keras",
                 "convlstm-w4/history.jsonl", "convlstm-stateful-w4/last.keras"):
        assert (out / name).is_file(), name
    # The table went to stderr (stdout holds only the JSON), one line per row under its header.
    table = [line for line in captured.err.splitlines() if line.startswith(("conv", "variant"))]
    assert table[0].startswith("variant") and len(table) == 5


@pytest.mark.parametrize("args, words", [
    (["--variants", "conv2d,lstm"], "'lstm' is not one of"),
    (["--variants", "convlstm-stateful", "--batch-size", "64"], "batch size"),
    (["--windows", "0"], "--windows"),
    (["--epochs", "2", "--budget-seconds", "5"], "not allowed with"),
    (["--budget-seconds", "-1"], "--budget-seconds"),
])
def test_refused_before_anything_trains(tmp_path, capsys, args, words):
    flags = DATA if "--batch-size" in args else TINY
    rc = _main(["compare", *flags, *args, "--out", str(tmp_path / "cmp")])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("held", ["compare.json", "conv3d-w4/config.json"])
def test_an_out_holding_a_comparison_or_a_row_run_is_refused(tmp_path, capsys, held):
    out = tmp_path / "cmp"
    (out / held).parent.mkdir(parents=True, exist_ok=True)
    (out / held).write_text("{}")
    (out / "conv3d-w4").mkdir(exist_ok=True)
    (out / "conv3d-w4" / "history.jsonl").write_text('{"epoch": 1}\n')
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    rc = _main(["compare", *TINY, "--epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert str(out / held) in err if held == "compare.json" else f"{out / 'conv3d-w4'} (row conv3d-w4)" in err
    assert "already holds" in err and "pick another --out" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_one_row_is_one_row(tmp_path, capsys):
    rc = main(["compare", *TINY, "--variants", "conv2d", "--epochs", "1", "--steps-per-epoch", "1"])
    err = capsys.readouterr()
    assert rc == 0, err.err
    assert "compare: 1 row on the same data" in err.out

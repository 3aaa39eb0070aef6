"""The command's one-line messages name the option or the file at fault.

Each case printed a traceback or misleading words before: numbers too large
for any network, widths beyond what Keras can build, running out of memory
while reading a data file, file names a terminal cannot show as typed.
"""

import re

import pytest

from sk_mnist.cli import main

HUGE = "99999999999999999999"
FAST = ["--epochs", "1", "--hidden", "8", "--batch-size", "256", "--quiet"]


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "args, option",
    [
        (["train", "--batch-size", HUGE], "--batch-size"),
        (["train", "--epochs", HUGE], "--epochs"),
        (["search", "--grid", '{"mlp__epochs": [1]}', "--n-jobs", HUGE], "--n-jobs"),
        (["search", "--grid", '{"mlp__epochs": [1]}', "--n-iter", HUGE], "--n-iter"),
        (["search", "--grid", '{"mlp__epochs": [1]}', "--cv", HUGE], "--cv"),
    ],
)
def test_numbers_too_large_name_the_option(tmp_path, capsys, monkeypatch, args, option):
    # They passed the parser and ended in an OverflowError traceback.
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: argument {option}: expected ")
    assert f"got '{HUGE}' (at most 2147483647)" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "widths, shown",
    [
        ("100000000000000000000", "100000000000000000000"),
        ("8,2147483648", "8,2147483648"),
        ("10,-3", "10,-3"),
        ("0", "0"),
    ],
)
def test_widths_the_estimator_refuses_name_hidden(
    tmp_path, capsys, monkeypatch, widths, shown
):
    # --hidden 100000000000000000000 ended in "Can't convert Python sequence
    # with out-of-range integer to Tensor", after the data was read.
    import sk_mnist.datasets

    def no_data(*args, **kwargs):
        raise AssertionError("the data was read before --hidden was checked")

    monkeypatch.setattr(sk_mnist.datasets, "load_sample", no_data)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--hidden", widths, "--epochs", "1", "--quiet"]) == 2
    line = _error_line(capsys)
    assert line.startswith(
        "error: argument --hidden: expected comma-separated positive layer "
        f"widths such as 1024,512,256, got '{shown}' (The 'hidden_layer_sizes' "
        "parameter of DenseMLPClassifier"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_width_that_is_not_an_integer_names_hidden(capsys):
    assert main(["train", "--hidden", "1e20"]) == 2
    assert _error_line(capsys).startswith(
        "error: argument --hidden: expected comma-separated positive layer widths"
    )


@pytest.mark.parametrize("command", ["train", "predict", "evaluate"])
def test_out_of_memory_reading_data_names_the_file(
    tmp_path, capsys, monkeypatch, command
):
    # It said "out of memory building or running the network" for a CSV read.
    import sk_mnist.datasets

    def huge(path, *args, **kwargs):
        raise MemoryError("Unable to allocate 4.00 GiB for an array")

    monkeypatch.setattr(sk_mnist.datasets, "load_mnist_csv", huge)
    data = tmp_path / "big.csv"
    data.write_text("label,1x1\n")
    args = {
        "train": ["train", "--train", str(data), "--out", str(tmp_path / "r"), *FAST],
        "predict": ["predict", "--model", "m", "--data", str(data), "--output", "p"],
        "evaluate": ["evaluate", "--model", "m", "--data", str(data)],
    }[command]
    assert main(args) == 2
    assert _error_line(capsys) == (
        f"error: {data}: out of memory reading the data "
        "(Unable to allocate 4.00 GiB for an array)"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["big.csv"]


@pytest.mark.parametrize(
    "name, shown",
    [
        ("bad\nname.csv", r"bad\nname.csv"),
        ("esc\x1b[31mred.csv", r"esc\x1b[31mred.csv"),
        ("latin1-\udce9t\udce9.csv", r"latin1-\xe9t\xe9.csv"),
    ],
)
def test_file_names_are_shown_as_typed(tmp_path, capsys, monkeypatch, name, shown):
    # A newline in a file name cut the line at it ("error: bad"); a terminal
    # escape was printed raw; undecodable bytes came out as \udce9.
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--train", name, *FAST]) == 2
    line = _error_line(capsys)
    assert line == f"error: {shown}: No such file or directory"
    assert "\x1b" not in line and not re.search("[\udc80-\udcff]", line)


@pytest.mark.parametrize(
    "args",
    [["download", "--quiet"], ["train", "--dataset", "mnist", *FAST]],
)
def test_a_failed_fetch_says_what_to_do_on_the_command_line(
    tmp_path, capsys, monkeypatch, args
):
    # The library's message names Python functions (load_mnist_csv); the
    # command's line also names the options that read local files.
    import sk_mnist.datasets
    from sk_mnist.datasets import FetchError

    def offline(name, data_home=None, **kwargs):
        raise FetchError(
            f"cannot download MNIST: no network connection; copy mnist.npz into "
            f"{data_home} (the data home), or read local files with load_mnist_csv"
        )

    monkeypatch.setattr(sk_mnist.datasets, "fetch_dataset", offline)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    assert main([*args, "--data-home", str(home)]) == 2
    assert _error_line(capsys) == (
        f"error: cannot download MNIST: no network connection; copy mnist.npz "
        f"into {home} (the data home), or read local files with load_mnist_csv; "
        "or train on local CSV files with --train/--test"
    )
    assert list(tmp_path.iterdir()) == []

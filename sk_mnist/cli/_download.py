"""``sk-mnist download``: fetch a full data set once, for offline use."""

from . import _options as opt
from ._data import fetch


def cmd_download(args):
    """Download (or check) a full data set in the data home."""
    data = fetch(args.dataset, args.data_home, quiet=args.quiet, timeout=args.timeout)
    where = "downloaded into" if data.downloaded else "already in"
    print(
        f"{data.title}: {len(data.y_train):,} training and {len(data.y_test):,} "
        f"test images ({data.source}), checked, {where} {data.folder}"
    )
    return 0


DOWNLOAD_EXAMPLES = """\
examples:
  sk-mnist download                 # MNIST into ~/.cache/sk-mnist
  sk-mnist download --dataset fashion-mnist --data-home /data/sk-mnist
  sk-mnist train --dataset mnist    # then train on it, offline

Without a network, copy mnist.npz or the four IDX .gz files into DIR/mnist
(DIR/fashion-mnist for Fashion-MNIST) and run this again to check them, or
train on local CSV files with 'sk-mnist train --train ... --test ...'.
"""


def add_parser(sub):
    """Add the ``download`` subcommand to `sub`."""
    from ..datasets import DATASET_NAMES as datasets

    download = opt.subcommand(
        sub,
        "download",
        "download the full MNIST or Fashion-MNIST data once, for offline use",
        "Download a full data set (60,000 training and 10,000 test images) "
        "into the data home, checked against its published checksums, so "
        "that 'sk-mnist train --dataset ...' and fetch_mnist() work offline. "
        "Data already there is checked, not downloaded again.",
        DOWNLOAD_EXAMPLES,
    )
    download.add_argument(
        "--dataset",
        choices=datasets,
        default=datasets[0],
        help=f"which data set (default: {datasets[0]})",
    )
    opt.add_data_home(download)
    download.add_argument(
        "--timeout",
        type=opt.positive_float,
        metavar="SECONDS",
        help="give up on a server that sends nothing for this long (default: 30)",
    )
    download.add_argument("--quiet", action="store_true", help="no progress")

"""``sk-mnist download``: fetch a full data set once, for offline use."""

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

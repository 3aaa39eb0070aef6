"""The data sets :func:`~sk_mnist.fetch_mnist` and
:func:`~sk_mnist.fetch_fashion_mnist` know: where each one's files come from,
and the checksums or counts that prove them.

Private to :mod:`sk_mnist.datasets`; only the standard library.
"""

from typing import NamedTuple

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "FASHION_MNIST",
    "MNIST",
    "Dataset",
    "File",
    "Source",
]


class File(NamedTuple):
    name: str  # on the server and in the cache
    digest: str  # "md5:HEX" or "sha256:HEX"; "" when checked by content instead
    gunzip: bool = False  # the digest is of the decompressed content


class Source(NamedTuple):
    label: str
    kind: str  # "idx" (train images, labels, test images, labels), "npz", "csv"
    files: tuple
    mirrors: tuple = ()  # base URLs, tried in order
    folders: tuple = ()  # read in place (an installed package), never written
    kaggle: str = ""  # Kaggle data set, downloaded with the kaggle command


class Dataset(NamedTuple):
    key: str  # its name for fetch_dataset, and its sub-folder of the data home
    title: str
    sources: tuple
    class_counts: tuple  # images per class, (train, test)
    local_files: str  # what a user can copy into the cache instead


def _idx_files(*digests, gunzip=False):
    names = (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
    return tuple(
        File(name, digest, gunzip) for name, digest in zip(names, digests, strict=True)
    )


_KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_IDX_HINT = "the four IDX files (train-images-idx3-ubyte.gz, ...)"

# MD5 sums as listed by torchvision (MNIST) and by Zalando's README
# (Fashion-MNIST); the SHA-256 of mnist.npz as pinned by keras.datasets.mnist.
MNIST = Dataset(
    key="mnist",
    title="MNIST",
    sources=(
        Source(
            "LeCun's IDX files",
            "idx",
            _idx_files(
                "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "md5:d53e105ee54ea40749a09fcbcd1e9432",
                "md5:9fb629c4189551a2d022fa330f9573f3",
                "md5:ec29112dd5afa0611ce80d1b7f02629c",
            ),
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
        ),
        Source(
            "Keras' mnist.npz",
            "npz",
            (
                File(
                    "mnist.npz",
                    "sha256:"
                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
                ),
            ),
            mirrors=(_KERAS_MIRROR,),
        ),
        Source(
            "Kaggle's mnist-in-csv",
            "csv",
            (File("mnist_train.csv", ""), File("mnist_test.csv", "")),
            kaggle="oddrationale/mnist-in-csv",
        ),
    ),
    class_counts=(
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
    ),
    local_files=f"mnist.npz or {_IDX_HINT}",
)

# Debian's package holds Zalando's files with their gzip headers normalised
# (file name dropped, time stamp changed), so their MD5 sums differ from
# Zalando's; these SHA-256 sums are of the decompressed IDX data.  Putting
# back the name and the original time stamp (2017-08-31) gives each file's
# published MD5 sum: the compressed data itself is byte for byte Zalando's.
FASHION_MNIST = Dataset(
    key="fashion-mnist",
    title="Fashion-MNIST",
    sources=(
        Source(
            "Debian's dataset-fashion-mnist",
            "idx",
            _idx_files(
                "sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                gunzip=True,
            ),
            folders=("/usr/share/datasets/fashion-mnist",),
        ),
        Source(
            "Zalando's IDX files",
            "idx",
            _idx_files(
                "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "md5:25c81989df183df01b3e8a0aad5dffbe",
                "md5:bef4ecab320f06d8554ea6380940ec79",
                "md5:bb300cfdad3c16e7a12a480ee83cd310",
            ),
            # Zalando's S3 website serves plain HTTP only; the MD5 sums guard
            # the content either way.
            mirrors=(
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                _KERAS_MIRROR,
            ),
        ),
        Source(
            "Kaggle's fashionmnist",
            "csv",
            (File("fashion-mnist_train.csv", ""), File("fashion-mnist_test.csv", "")),
            kaggle="zalando-research/fashionmnist",
        ),
    ),
    class_counts=((6000,) * 10, (1000,) * 10),
    local_files=_IDX_HINT,
)

# What fetch_dataset reads, by name; tests replace entries to point at a local
# server.
DATASETS = {dataset.key: dataset for dataset in (MNIST, FASHION_MNIST)}
DATASET_NAMES = tuple(DATASETS)

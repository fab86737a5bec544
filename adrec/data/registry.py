"""The dataset registry and the one function that finds a dataset file: :func:`fetch`.

Where a file is looked for, in order:

1. the offline mirror ``$ADREC_DATA_MIRROR`` (a folder laid out ``<dataset>/<file>``, e.g.
   ``../shared/data``), read in place;
2. the persistent cache ``$ADREC_DATA_DIR`` (default: the user's cache folder, ``~/.cache/adrec``
   on Linux);
3. the dataset's canonical URL, downloaded with pooch into the cache (to a temporary name first,
   so nothing half-written is ever left there).

Every file is checked against its sha256 wherever it was found. A missing or corrupt file raises
one :class:`DataError` that names the dataset, the file, the expected and actual sha256, every
place looked at, and how to fix it.

Adding a dataset is one :class:`Dataset` entry in ``REGISTRY``.

Your own data: :func:`user_file` passes a file of yours through the same checks (it exists, is a
readable, non-empty file) and records its sha256 in :func:`files_read` under its absolute path, as
registry files are recorded, so a row's provenance lists it; :func:`file_identity` gives the name
and sha256 that a row key should hash. One loader per model family reads such a file by path:
:func:`adrec.data.sequences.load_sequences_file`, :func:`adrec.data.gowalla.load_graph_files`,
:func:`adrec.data.ncf.load_interactions_file`, :func:`adrec.data.ctr.load_ctr_file`. A malformed file
is one :class:`DataError` naming the file, the line and the problem (:func:`malformed`), raised
before any work.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MIRROR_ENV = "ADREC_DATA_MIRROR"
CACHE_ENV = "ADREC_DATA_DIR"


class DataError(RuntimeError):
    """A dataset file that is missing, corrupt or cannot be downloaded."""


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict  # path inside the dataset folder -> sha256
    url: str  # base URL (files appended) or the URL of an archive holding the files
    licence: str
    citation: str
    description: str = ""
    archive_hash: str | None = None  # set when ``url`` is an archive: "md5:..." or "sha256:..."
    archive_members: dict = field(default_factory=dict)  # file -> member path inside the archive

    def file_url(self, file: str) -> str:
        return self.url if self.archive_hash else self.url.rstrip("/") + "/" + file


_GROUPLENS = "Harper & Konstan (2015). The MovieLens Datasets: History and Context. ACM TiiS 5(4)."

REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    REGISTRY[dataset.name] = dataset
    return dataset


register(Dataset(
    name="ml-100k",
    description="MovieLens 100K: 100,000 ratings (1-5) with timestamps, 943 users, 1,682 movies",
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    archive_hash="md5:0e33842e24a9c977be4e0107933c0723",
    archive_members={f: f"ml-100k/{f}" for f in
                     ("u.data", "u.item", "u.user", "u.genre", "u.occupation", "u.info", "README")},
    files={
        "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
        "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
        "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
        "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
        "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
        "README": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
    },
    licence="GroupLens research use; no redistribution",
    citation=_GROUPLENS,
))

register(Dataset(
    name="ml-1m",
    description="MovieLens 1M side information: movies (title, genres) and users",
    url="https://files.grouplens.org/datasets/movielens/ml-1m.zip",
    archive_hash="md5:c4d9eecfca2ab87c1945afe126590906",
    archive_members={f: f"ml-1m/{f}" for f in ("movies.dat", "users.dat", "README")},
    files={
        "movies.dat": "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9",
        "users.dat": "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3",
        "README": "dc90e3a7a0786854ef5b93ace2f3187b67e0a19650a51725d40086d8495c2c72",
    },
    licence="GroupLens research use; no redistribution",
    citation=_GROUPLENS,
))

register(Dataset(
    name="ml-1m-implicit-loo",
    description="MovieLens 1M implicit, leave-one-out (latest item held out): 6,040 users, 3,706 items",
    url="https://raw.githubusercontent.com/TianyitheDeveloper/AFCFM/23b798dce5d5cde51163451224cec1c13f551422/Data",
    files={"ml-1m.zip": "ed6270391f0d287ead49fa12dae35cce3b778ecc9296ee7257b6f2a9b313e1da"},
    licence="GroupLens research use; no redistribution",
    citation=_GROUPLENS + " Split: He et al. (2017), Neural Collaborative Filtering, WWW.",
))

register(Dataset(
    name="gowalla",
    description="Gowalla check-ins, LightGCN split: 29,858 users, 40,981 items",
    url="https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/947ca2b3b1d2d3545b114145710cb06c4e57b3d2/data/gowalla",
    files={
        "train.txt": "7244696fdeb23911319cf7b689f2e15a3c4c92549c873a5677b44e3f13cc3e62",
        "test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
        "user_list.txt": "5344c4d0deef610e1f148f23ad216a0db03b36f88834cd39a06786a672c5f5a1",
        "item_list.txt": "6b186f92890cc3f0c15a6dae5d6285f125a302bb8c5ea0cd9a16cf9c16347139",
    },
    licence="SNAP loc-gowalla terms",
    citation="Cho, Myers & Leskovec (2011), KDD; split of He et al. (2020), LightGCN, SIGIR.",
))

register(Dataset(
    name="amazon-games",
    description="Amazon Video Games, SASRec preprocessing: 31,013 users, 23,715 items, 287,107 actions",
    url="https://raw.githubusercontent.com/kang205/SASRec/e3738967fddab206d6eeb4fda433e7a7034dd8b1/data",
    files={"Video.txt": "b7376fe24430743f411dc7f567285657b2adb3f74361cc7ba0aee94f3024b651"},
    licence="Amazon review data, research use",
    citation="McAuley et al. (2015), SIGIR; Kang & McAuley (2018), Self-Attentive Sequential Recommendation, ICDM.",
))

register(Dataset(
    name="amazon-beauty",
    description="Amazon Beauty, S3-Rec preprocessing: 22,363 users, 12,101 items, 198,502 actions",
    url="https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/2a81540ae18615d88ef88227b0c066e5b74781e5/data",
    files={
        "Beauty.txt": "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8",
        "Beauty_item2attributes.json": "129e40f67486f6877eff0f5318cfa8530ee8ac23d8b0d1de04e1bb7a2ba0b2d4",
    },
    licence="Amazon review data, research use",
    citation="McAuley et al. (2015), SIGIR; Zhou et al. (2020), S3-Rec, CIKM.",
))

register(Dataset(
    name="advertisegen",
    description="AdvertiseGen (ADGEN): product attributes -> Chinese ad copy; dev 1,070 rows, first 5,000 train rows (GBK)",
    url="https://raw.githubusercontent.com/caixiaomao/ChatGLM-6B/0840795d50660b8d2f66a3b4fff899d8270ec118/ptuning/AdvertiseGen",
    files={
        "dev.json": "96b63cfd9fd0faca122a5747597f46ff835f19d9b1d3634f4b71f8a5f9487cc1",
        "train_first5000.gbk.json": "424dd49303dd4df7c2c72211c47266c7fdc8d6964ddb4ab365fe5ceb6ccab9a0",
    },
    licence="no licence stated; research use",
    citation="Shao et al. (2019), Long and Diverse Text Generation with Planning-based Hierarchical VAE, EMNLP.",
))

register(Dataset(
    name="frappe",
    description="Frappe v1.0 context-aware app usage: 96,203 logs, 957 users, 4,082 apps, 8 context fields",
    url="https://raw.githubusercontent.com/irecsys/CARSKit/0a1789fb0804b067cabd223c4b8fd8b4d2f6e881/context-aware_data_sets",
    files={"Mobile_Frappe.zip": "4adc616de57170f282397f6e6e30215f97fa7ad1b7f40bd12ef5dceaaf3e9b4e"},
    licence="research use, non-commercial, no redistribution",
    citation="Baltrunas et al. (2015), Frappe: Understanding the Usage and Perception of Mobile App Recommendations In-The-Wild, arXiv:1505.03014.",
))

register(Dataset(
    name="avazu-head10k",
    description="first 10,000 lines of Avazu's Kaggle CTR train.csv (9,999 impressions)",
    url="https://raw.githubusercontent.com/datamllab/AutoRec/2dbc8778cfb597402d8b0337186bf9152663b20a/examples/example_datasets/avazu",
    files={"train-10k": "de130fb5241bbb125c7db719ad9d5ec68e71a28358bf14a519c0c90d04160964"},
    licence="Kaggle competition rules",
    citation="Avazu Click-Through Rate Prediction, Kaggle (2014).",
))

register(Dataset(
    name="criteo-head10k",
    description="first 10,000 lines of Criteo's Display Advertising Challenge train.txt",
    url="https://raw.githubusercontent.com/datamllab/AutoRec/2dbc8778cfb597402d8b0337186bf9152663b20a/examples/example_datasets/criteo",
    files={"train-10k.txt": "f665bb8823fd742ea1b8602d70918f235ccc08eba3224f1621c11022721c21a3"},
    licence="Criteo research, non-commercial",
    citation="Criteo Display Advertising Challenge, Kaggle (2014).",
))

_OBP = {
    "bts/men/men.csv": "db6d1f7ed2d591ba521533e45286d4c1fba7fe57a8ad2e80342210335f43c527",
    "bts/men/item_context.csv": "3b411ed6b0471316321a6b93f4f756bb25888eac6218cd71d0b603d41d85732d",
    "bts/women/women.csv": "e5d1b49a39b608585a2f3014a3f54970430cd37a495c1b73fceb85cdf428a5b8",
    "bts/women/item_context.csv": "a56295bad066a558eb783055afd9279f5f4e209a4776eafc22151c53f0ac89d4",
    "random/men/men.csv": "ede6d08c6877f99cd3770f7d09e26c738e6aa6de4445ccccfb1356ba5d06b1eb",
    "random/men/item_context.csv": "6d855c2b7e917d0448d71bbe62c023147495882c0fdc8c41e86fef86abf9fe09",
    "random/women/women.csv": "e65f3bd3beb17664fa69cc129bf7bf852a775f8ffa630506e505fc905315bb34",
    "random/women/item_context.csv": "b1ca4905f97703d196004f2ad4552c1e90c2afad8b50688d333b0d2dc0b33147",
}
register(Dataset(
    name="open-bandit",
    description="Open Bandit Dataset (small): 40,000 fashion-ad impressions under two logging policies",
    url="https://raw.githubusercontent.com/st-tech/zr-obp/8cbd5fa4558b7ad2ba4781546d6604e4cc3e07c4/obd",
    files=_OBP,
    licence="CC BY 4.0",
    citation="Saito et al. (2021), Open Bandit Dataset and Pipeline, NeurIPS Datasets and Benchmarks.",
))

register(Dataset(
    name="advertisegen",
    description="AdvertiseGen / ADGEN: product attributes -> Chinese ad copy; dev 1,070 rows (UTF-8), "
                "the first 5,000 of the 114,599 training rows (GBK-encoded)",
    url="https://raw.githubusercontent.com/caixiaomao/ChatGLM-6B/0840795d50660b8d2f66a3b4fff899d8270ec118/ptuning/AdvertiseGen",
    files={
        "dev.json": "96b63cfd9fd0faca122a5747597f46ff835f19d9b1d3634f4b71f8a5f9487cc1",
        "train_first5000.gbk.json": "424dd49303dd4df7c2c72211c47266c7fdc8d6964ddb4ab365fe5ceb6ccab9a0",
    },
    licence="no licence stated by the authors: research use",
    citation="Shao et al. (2019), Long and Diverse Text Generation with Planning-based Hierarchical "
             "Variational Model, EMNLP.",
))

register(Dataset(
    name="talkingdata",
    description="TalkingData AdTracking train_sample.csv: 100,000 clicks, label = app downloaded",
    url="https://raw.githubusercontent.com/yxjsxy/app_download_prediction/d23964938240ba7f723406842830d9001d256a73",
    files={"train_sample.csv": "991a536e7884486a8a29840f1adb1852e69a5f7375f24eba0f5a4375e0272c2c"},
    licence="Kaggle competition rules",
    citation="TalkingData AdTracking Fraud Detection Challenge, Kaggle (2018).",
))


# --------------------------------------------------------------------------------------------
# finding files

_FILES_READ: dict[str, str] = {}


def files_read() -> dict[str, str]:
    """``{"<dataset>/<file>": sha256}`` of every file fetched in this process, and
    ``{"<absolute path>": sha256}`` of every user file read (:func:`user_file`), for provenance."""
    return dict(_FILES_READ)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("adrec"))


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def _fix_text(ds: Dataset, file: str, cached: Path) -> str:
    return (
        f"To fix: point {MIRROR_ENV} at a folder holding {ds.name}/{file} "
        f"(in this project's CI: ../shared/data), or connect to the network so it can be downloaded "
        f"from {ds.file_url(file)}, or put a good copy at {cached}. "
        f"Licence: {ds.licence}."
    )


def _corrupt(ds: Dataset, file: str, path: Path, actual: str, where: str) -> DataError:
    return DataError(
        f"dataset {ds.name!r}, file {file!r}: the copy in the {where} is corrupt.\n"
        f"  path:            {path}\n"
        f"  expected sha256: {ds.files[file]}\n"
        f"  actual sha256:   {actual}\n"
        f"It was not used and nothing was changed. Replace or delete it. "
        + _fix_text(ds, file, cache_dir() / ds.name / file)
    )


def _download(ds: Dataset, file: str, target: Path) -> None:
    """Download into the cache through a temporary folder; only a verified file is moved in."""
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        if ds.archive_hash:
            archive = pooch.retrieve(ds.url, known_hash=ds.archive_hash, path=tmp, progressbar=False)
            with zipfile.ZipFile(archive) as zf:
                with zf.open(ds.archive_members[file]) as src, open(Path(tmp) / "member", "wb") as dst:
                    shutil.copyfileobj(src, dst)
            got = Path(tmp) / "member"
        else:
            got = Path(pooch.retrieve(ds.file_url(file), known_hash=f"sha256:{ds.files[file]}",
                                      path=tmp, fname="member", progressbar=False))
        actual = sha256(got)
        if actual != ds.files[file]:
            raise _corrupt(ds, file, got, actual, "download")
        os.replace(got, target)


def fetch(dataset: str, file: str, download: bool = True) -> Path:
    """Path of a verified copy of ``<dataset>/<file>`` (mirror, then cache, then download)."""
    if dataset not in REGISTRY:
        raise DataError(f"unknown dataset {dataset!r}; registered: {', '.join(sorted(REGISTRY))}.")
    ds = REGISTRY[dataset]
    if file not in ds.files:
        raise DataError(f"dataset {dataset!r} has no file {file!r}; its files: {', '.join(ds.files)}.")
    expected = ds.files[file]
    looked = []

    mirror = mirror_dir()
    if mirror is None:
        looked.append(f"mirror: not set (${MIRROR_ENV})")
    else:
        path = mirror / dataset / file
        if path.is_file():
            actual = sha256(path)
            if actual != expected:
                raise _corrupt(ds, file, path, actual, f"mirror (${MIRROR_ENV}={mirror})")
            _FILES_READ[f"{dataset}/{file}"] = actual
            return path
        looked.append(f"mirror: {path} (not there" + ("" if mirror.is_dir() else "; the mirror folder itself does not exist") + ")")

    cached = cache_dir() / dataset / file
    if cached.is_file():
        actual = sha256(cached)
        if actual != expected:
            raise _corrupt(ds, file, cached, actual, f"cache (${CACHE_ENV})")
        _FILES_READ[f"{dataset}/{file}"] = actual
        return cached
    looked.append(f"cache: {cached} (not there)")

    if download:
        try:
            _download(ds, file, cached)
        except DataError:
            raise
        except Exception as exc:  # network down, HTTP error, bad archive hash
            looked.append(f"download: {ds.file_url(file)} failed ({type(exc).__name__}: {exc})")
        else:
            _FILES_READ[f"{dataset}/{file}"] = expected
            return cached
    else:
        looked.append("download: not attempted (download=False)")
    raise DataError(
        f"dataset {dataset!r}, file {file!r} is missing (expected sha256 {expected}).\n"
        "Looked in:\n  " + "\n  ".join(looked) + "\n" + _fix_text(ds, file, cached)
    )


# --------------------------------------------------------------------------------------------
# your own files


def malformed(path, problem: str, line: int | None = None) -> DataError:
    """The one error of a malformed user file: ``<path>, line <n>: <problem>``."""
    where = f"{path}" if line is None else f"{path}, line {line}"
    return DataError(f"{where}: {problem}")


def user_file(path) -> Path:
    """A user's data file, checked and recorded: it must exist, be a file (not a folder), be
    readable and not be empty, else one :class:`DataError` naming it. Its sha256 is recorded in
    :func:`files_read` under its absolute path (a row's provenance lists it). Returns the absolute
    path."""
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise DataError(f"{path}: no such file (the current folder is {Path.cwd()}).")
    if not path.is_file():
        raise DataError(f"{path}: not a file (a data file is expected, got a folder or a device).")
    try:
        with open(path, "rb") as fh:
            empty = not fh.read(1)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}: {exc}).") from None
    if empty:
        raise DataError(f"{path}: the file is empty.")
    stat = path.stat()
    version = (stat.st_size, stat.st_mtime_ns)  # a file rewritten since is hashed again
    if _USER_HASHES.get(str(path), (None,))[0] != version:  # a row reads its file twice: to load it, to key it
        _USER_HASHES[str(path)] = (version, sha256(path))
    _FILES_READ[str(path)] = _USER_HASHES[str(path)][1]
    return path


_USER_HASHES: dict[str, tuple] = {}  # absolute path -> ((size, mtime_ns), sha256) of user files hashed


def file_identity(path) -> dict:
    """``{"name": file name, "sha256": hash}`` of a user file (checked and recorded by
    :func:`user_file`): what a row key hashes, so that a row on other data never shares a key or a
    checkpoint with this one. The folder is left out: moving the file keeps its identity."""
    path = user_file(path)
    return {"name": path.name, "sha256": _FILES_READ[str(path)]}


def read_table(path, required=(), sep: str | None = None):
    """A user's CSV/TSV file (through :func:`user_file`) read as a pandas frame of strings.

    The first line is the header (column names). ``sep``: the field separator; by default a tab
    when the header holds one, else a comma. Every value is read as text (``""`` for an empty
    field); a blank line is kept as a row of empty values so that row ``r`` is line ``r + 2``
    (blank lines at the end of the file are dropped). A column of ``required`` missing from the
    header, a column named twice, a line with more fields than the header, or a file with a header
    and no rows is one :class:`DataError` naming the file (and line). Returns
    ``(absolute path, frame)``."""
    import pandas as pd

    path = user_file(path)
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline()
    sep = sep or ("\t" if "\t" in header else ",")
    try:  # header=None: a row longer than the header is an error (not a silent index column)
        df = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise malformed(path, "only blank lines: expected a header line naming the columns") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise malformed(path, f"cannot be parsed as a {'tab' if sep == chr(9) else repr(sep)}-separated "
                              f"table ({type(exc).__name__}: {str(exc).strip()})") from None
    end = len(df)
    while end > 1 and (df.iloc[end - 1].fillna("") == "").all():  # blank lines at the end of the file
        end -= 1
    names = [str(c).strip() for c in df.iloc[0]]
    df = df.iloc[1:end].reset_index(drop=True)
    df.columns = names
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise malformed(path, f"column(s) {', '.join(map(repr, twice))} named twice in the header", line=1)
    missing = [c for c in required if c not in names]
    if missing:
        raise malformed(path, f"missing column(s) {', '.join(map(repr, missing))}; the header has "
                              f"{', '.join(map(repr, names))}", line=1)
    if len(df) == 0:
        raise malformed(path, "a header and no rows")
    return path, df.fillna("")


def integer_column(df, column: str, path) -> "np.ndarray":
    """``df[column]`` (strings, as :func:`read_table` gives) as int64; the first value that is not
    an integer is one :class:`DataError` naming the file, the line and the value."""
    import numpy as np

    text = df[column].str.strip()
    ok = text.str.fullmatch(r"[+-]?\d{1,18}").to_numpy(dtype=bool)
    if not ok.all():
        row = int(np.argmin(ok))
        value = df[column].iloc[row]
        problem = "is empty" if value.strip() == "" else f"{value!r} is not an integer"
        raise malformed(path, f"column {column!r} {problem}", line=row + 2)
    return text.to_numpy().astype(np.int64)

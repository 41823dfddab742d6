"""Benchmark section: distillation on MR and SST-2 (issue 11).

Per dataset, on the accuracy section's splits (MR: 10% of train.csv for validation; SST-2: held-out training
sentences with all their phrases, scored on GLUE dev):

1. A MiniLM teacher (`gru-hf teacher --base_model all-MiniLM-L6-v2`), fine-tuned once and reused from
   `outputs/bench-teachers/<dataset>` (kept, ignored by git); its logits are cached there too, so a rerun costs no
   teacher fine-tuning and no teacher labelling.
2. On MR validation only (seed 0, GloVe student): the distillation settings (`DISTILL_CANDIDATES`) and the student
   sizes (`STUDENT_SIZES`); the best setting by validation accuracy is the one the rows use on both datasets.
3. Rows, 3 seeds where the row trains: gru-hf distilled (GloVe 50d and random init), the same students trained
   without the teacher (the accuracy section's settings), TF-IDF + LR, fastText and model2vec (distilled from the
   same MiniLM, its own classifier), with accuracy, training seconds (teacher fine-tuning and labelling separate)
   and sentences/s at batch 64 on the test texts, every row in this process with one thread.

Training jobs run two at a time, one torch thread each. The augmented copies are drawn with one seed
(`--augment_seed 0`) whatever the student's seed, so the teacher labels each transfer set once.

    python scripts/benchmark.py --sections distillation --data_dir ../shared/data
"""

import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from .accuracy import summarise_runs
from .data import load_splits
from .report import fmt, table
from .runner import REPO_ROOT, git_commit
from .settings import (
    DATASETS,
    DISTILL_AUGMENT_SEED,
    DISTILL_CANDIDATES,
    DISTILL_DATASETS,
    DISTILL_DEFAULT_CANDIDATE,
    DISTILL_STUDENT_MODEL,
    DISTILL_TARGETS,
    DISTILL_TEACHER_OPTIONS,
    DISTILL_WORKERS,
    FASTTEXT_ROW,
    GRU_HF_ROWS,
    M2V_ROW,
    QUICK_SEEDS,
    SEEDS,
    SERVING_BATCH,
    STUDENT_SIZES,
    TFIDF_ROW,
)
from .timing import Meter, log

TEACHER_ROOT = os.path.join(REPO_ROOT, "outputs", "bench-teachers")
TEACHER_BASE = "all-MiniLM-L6-v2"
TEACHER_ROW = "teacher: all-MiniLM-L6-v2 fine-tuned"
DISTILLED_ROWS = {"glove": "gru-hf distilled (GloVe 50d)", "random": "gru-hf distilled (random init)"}
# The gru-hf rows are also timed as `gru-hf predict` serves them: the job's ONNX export through `OnnxClassifier`.
RUNTIME_LOADER = "ONNX fp32 runtime"


# ---------------------------------------------------------------------------------------------------------------
# The teacher.


def _tiny_bert(path: str, texts: list[str]) -> str:
    """A tiny BERT base for --quick: a WordPiece vocabulary trained on `texts`, random weights."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=500, special_tokens=specials))
    ids = [(token, backend.token_to_id(token)) for token in ("[CLS]", "[SEP]")]
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=ids)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        **{f"{k}_token": f"[{k.upper()}]" for k in ("pad", "unk", "cls", "sep", "mask")},
        model_max_length=128,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=128,
    )
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def data_files(data_dir: str, name: str, workdir: str) -> dict:
    """The accuracy section's split of `name` as `DataArguments` fields."""
    from .data import data_arguments

    args = data_arguments(data_dir, name, workdir)
    fields = ("train_file", "validation_file", "test_file", "validation_split_percentage", "split_seed")
    return {k: getattr(args, k) for k in fields if getattr(args, k) is not None}


TEACHER_RECIPE = ("learning_rate", "num_train_epochs", "per_device_train_batch_size", "warmup_steps", "weight_decay")


def teacher_signature(files: dict, options: dict) -> dict:
    """What a reusable teacher must have been trained on: the split's file names and settings, and its recipe (the
    package's `TeacherTrainingArguments` defaults with the options on top), so that a teacher fine-tuned before a
    default changed is not reused as if it had the new one."""
    from dataclasses import fields

    from gru_hf.distillation import TeacherTrainingArguments

    recipe = {f.name: f.default for f in fields(TeacherTrainingArguments) if f.name in TEACHER_RECIPE}
    return {"data": {k: os.path.basename(str(v)) for k, v in files.items()}, "recipe": {**recipe, **options}}


def teacher(data_dir: str, name: str, workdir: str, quick: bool, train_texts: list[str]) -> tuple[str, dict]:
    """The teacher of `name`: reused when a complete one trained on the same files is there, else fine-tuned.
    Returns (directory, facts)."""
    from gru_hf.data import DataArguments
    from gru_hf.distillation import TeacherArguments, TeacherTrainingArguments, train_teacher

    root = os.path.join(workdir, "teachers") if quick else TEACHER_ROOT
    out = os.path.join(root, name)
    files = data_files(data_dir, name, workdir)
    options = {} if quick else DISTILL_TEACHER_OPTIONS[name]
    signature = teacher_signature(files, options)
    done = os.path.join(out, "results.json")
    if os.path.isfile(done) and os.path.isfile(os.path.join(out, "bench-signature.json")):
        with open(os.path.join(out, "bench-signature.json"), encoding="utf-8") as f:
            if json.load(f) == signature:
                with open(done, encoding="utf-8") as f:
                    results = json.load(f)
                facts = {"reused": True, "train_runtime_s": results.get("train_runtime_s"), "dir": out}
                if results.get("note"):  # e.g. where it was fine-tuned, when not on this machine
                    facts["note"] = results["note"]
                return out, facts
    base = _tiny_bert(os.path.join(workdir, "tiny-bert"), train_texts) if quick else TEACHER_BASE
    quick_training = {"learning_rate": 3e-3, "num_train_epochs": 2, "warmup_steps": 0} if quick else {}
    log(f"distillation: {name}: fine-tuning the teacher ({base})")
    start = time.perf_counter()
    results = train_teacher(
        TeacherArguments(base_model=base),
        DataArguments(**files),
        TeacherTrainingArguments(
            output_dir=out, overwrite_output_dir=True, disable_tqdm=True, **options, **quick_training
        ),
    )
    with open(os.path.join(out, "bench-signature.json"), "w", encoding="utf-8") as f:
        json.dump(signature, f)
    return out, {
        "reused": False,
        "train_runtime_s": results.get("train_runtime_s"),
        "wall_s": round(time.perf_counter() - start, 1),
        "dir": out,
    }


# ---------------------------------------------------------------------------------------------------------------
# Student jobs, run in worker processes.


def _student(job: dict) -> dict:
    """One gru-hf job: `train` (no teacher) or `distill`, with the accuracy section's settings of the dataset and
    init, `job["model"]` / `job["distill"]` on top. One torch thread."""
    import torch

    from gru_hf.data import DataArguments
    from gru_hf.distillation import DistillArguments, distill
    from gru_hf.training import ModelArguments, train

    from .accuracy import job_settings, job_training_arguments
    from .runner import quiet_libraries

    torch.set_num_threads(1)
    quiet_libraries()
    model_kwargs, training_kwargs = job_settings(job["data_dir"], job["dataset"], job["init"], job["quick"])
    model_kwargs.update(job.get("model", {}))
    args = job_training_arguments(job["output_dir"], job["seed"], training_kwargs)
    start = time.perf_counter()
    if job["teacher"] is None:
        results = train(ModelArguments(**model_kwargs), DataArguments(**job["files"]), args)
    else:
        distill_args = DistillArguments(
            teacher=job["teacher"],
            teacher_cache_dir=job["cache_dir"],
            augment_seed=DISTILL_AUGMENT_SEED,
            speed_texts=0,
            **job.get("distill", {}),
        )
        results = distill(ModelArguments(**model_kwargs), DataArguments(**job["files"]), args, distill_args)
    row = {
        "key": job["key"],
        "seed": job["seed"],
        "output_dir": job["output_dir"],
        "test_accuracy": 100.0 * results["test"]["test_accuracy"],
        "validation_accuracy": 100.0 * results["validation"]["eval_accuracy"],
        "train_s": float(results["train_runtime_s"]),
        "job_s": round(time.perf_counter() - start, 1),
        "epochs_run": results["validation"].get("epoch"),
    }
    facts = results.get("distillation")
    if facts:
        row.update(
            agreement_test=100.0 * facts["agreement_test"],
            teacher_test_accuracy=100.0 * facts["teacher_test_metrics"]["test_accuracy"],
            teacher_logits_s=facts["teacher_logits_s"],
            teacher_texts_computed=facts["teacher_texts_computed"],
            transfer_set=facts["transfer_set"],
        )
    log(
        f"distillation: {job['key']} seed {job['seed']}: "
        f"val {row['validation_accuracy']:.2f} test {row['test_accuracy']:.2f}"
    )
    with open(job["log_path"], "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return row


def run_jobs(jobs: list[dict], quick: bool) -> list[dict]:
    """Every job, `DISTILL_WORKERS` at a time. The first job of each transfer set labels it with the teacher; those
    first jobs run one after another (their sets share the training texts, so the teacher labels each text once),
    and the other jobs of a set start as soon as its first job is done, beside the jobs that need no teacher."""
    if quick:
        return [_student(job) for job in jobs]
    first, seen = [], set()
    for job in jobs:
        if job["teacher"] is not None and job["transfer_key"] not in seen:
            seen.add(job["transfer_key"])
            first.append(job)
    waiting = {job["transfer_key"]: [] for job in first}
    for job in jobs:
        if job["teacher"] is not None and job not in first:
            waiting[job["transfer_key"]].append(job)
    rows = []
    with ProcessPoolExecutor(DISTILL_WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {}
        if first:
            running[pool.submit(_student, first[0])] = first[0]
        running.update({pool.submit(_student, job): job for job in jobs if job["teacher"] is None})
        next_first = 1
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                rows.append(future.result())
                if job in first:
                    for other in waiting[job["transfer_key"]]:
                        running[pool.submit(_student, other)] = other
                    if next_first < len(first):
                        running[pool.submit(_student, first[next_first])] = first[next_first]
                        next_first += 1
    return rows


def _job(base: dict, key: str, init: str, seed: int, teacher_dir: str | None, **extra) -> dict:
    name = f"{key}-seed{seed}".replace(" ", "_").replace(",", "").replace("=", "")
    model, distill_options = extra.get("model", {}), extra.get("distill", {})
    transfer = json.dumps(
        [init, {k: v for k, v in distill_options.items() if k.startswith("augment")}], sort_keys=True
    )
    return {
        **base,
        "key": key,
        "init": init,
        "seed": seed,
        "teacher": teacher_dir,
        "model": model,
        "distill": distill_options,
        "transfer_key": transfer,
        "output_dir": os.path.join(base["root"], name),
    }


# ---------------------------------------------------------------------------------------------------------------
# Peers and speed.


def _tfidf(splits: dict, quick: bool) -> tuple[dict, object]:
    from .peers import run_tfidf

    result = run_tfidf(splits, quick, keep_model=True)
    return result, result.pop("model")


def time_predict(predict, texts: list[str]) -> float:
    """Sentences/s of `predict` over `texts` in batches of `SERVING_BATCH` (after one warm-up pass; the better of
    two passes)."""
    chunks = [texts[i : i + SERVING_BATCH] for i in range(0, len(texts), SERVING_BATCH)]
    for chunk in chunks:
        predict(chunk)
    best = 0.0
    for _ in range(2):
        meter = Meter(slice_s=0.25)
        meter.start()
        for chunk in chunks:
            predict(chunk)
            meter.tick(len(chunk))
        best = max(best, meter.result()["tokens_per_s"])
    return best


def speed_rows(paths: dict, tfidf_model, texts: list[str]) -> dict:
    """Sentences/s at batch 64, one thread, every row in this process: {row: sentences/s}."""
    import torch
    from threadpoolctl import threadpool_limits

    from .serving import LOADERS

    threads = torch.get_num_threads()
    out = {}
    try:
        with threadpool_limits(1):
            for row, (loader, path) in paths.items():
                log(f"distillation: timing {row}")
                _, predict = LOADERS[loader](path, 1)
                out[row] = time_predict(predict, texts)
            vectorizer, classifier = tfidf_model
            out[TFIDF_ROW] = time_predict(lambda chunk: classifier.predict(vectorizer.transform(chunk)), texts)
    finally:
        torch.set_num_threads(threads)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The section.


def summarise(rows: list[dict]) -> dict:
    """The accuracy section's summary of runs, with the mean agreement and teacher-labelling time where recorded."""
    out = summarise_runs(rows)
    for key in ("agreement_test", "teacher_logits_s"):
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[f"{key}_mean"] = statistics.fmean(values)
    return out


def candidates(quick: bool) -> dict:
    """The distillation settings compared on validation (the first two with --quick)."""
    return dict(list(DISTILL_CANDIDATES.items())[:2]) if quick else DISTILL_CANDIDATES


def choose(grid_rows: dict) -> str:
    """The candidate with the best validation accuracy (ties: the earlier one)."""
    order = list(grid_rows)
    return max(order, key=lambda c: (grid_rows[c]["validation_accuracy"], -order.index(c)))


def plan(base: dict, teacher_dir: str, seeds, chosen: tuple | None, quick: bool) -> tuple[list, list]:
    """(first-phase jobs, second-phase jobs). Without `chosen`, the first phase is the grid on validation (seed 0,
    GloVe student) with the no-teacher rows beside it, and the distilled rows wait for its choice."""
    plain = [_job(base, GRU_HF_ROWS[init], init, seed, None) for init in GRU_HF_ROWS for seed in seeds]
    if chosen is not None:
        return [], plain + distilled_jobs(base, teacher_dir, seeds, chosen[1], skip_first=False)
    grid = [
        _job(base, f"candidate {key}", "glove", seeds[0], teacher_dir, distill=options)
        for key, options in candidates(quick).items()
    ]
    grid += [
        _job(base, f"size {key}", "glove", seeds[0], teacher_dir, model=sizes)
        for key, sizes in ({} if quick else STUDENT_SIZES).items()
    ]
    return grid + plain, []


def distilled_jobs(base: dict, teacher_dir: str, seeds, settings: dict, skip_first: bool) -> list[dict]:
    """The distilled rows, with the dataset's DISTILL_STUDENT_MODEL options; with `skip_first`, not GloVe's first
    seed (the grid ran it)."""
    student = DISTILL_STUDENT_MODEL.get(base["dataset"], {})
    return [
        _job(base, DISTILLED_ROWS[init], init, seed, teacher_dir, distill=settings, model=student.get(init, {}))
        for init in GRU_HF_ROWS
        for seed in seeds
        if not (skip_first and init == "glove" and seed == seeds[0])
    ]


def peer_rows(splits: dict, seeds, quick: bool, root: str, workdir: str) -> tuple[dict, dict, object]:
    """TF-IDF + LR, fastText and model2vec: (rows, {row: (loader, path)} to time, the TF-IDF model)."""
    from .peers import accuracy
    from .serving import model2vec_model

    log("distillation: peers")
    models, paths = {}, {}
    tfidf, tfidf_model = _tfidf(splits, quick)
    models[TFIDF_ROW] = {**tfidf, **summarise(tfidf["runs"])}
    paths[FASTTEXT_ROW], fast = _fasttext(splits, seeds, quick, root)
    models[FASTTEXT_ROW] = {**fast, **summarise(fast["runs"])}
    m2v_path, m2v = model2vec_model(splits, os.path.join(root, "model2vec"), workdir, quick)
    if m2v_path is not None:
        paths[M2V_ROW] = m2v_path
        test = accuracy(_model2vec_predictions(m2v_path, splits["test"][0]), splits["test"][1])
        m2v["runs"] = [
            {
                "seed": 0,
                "test_accuracy": test,
                "validation_accuracy": m2v["validation_accuracy"],
                "train_s": m2v["fit_s"],
            }
        ]
        m2v.update(summarise(m2v["runs"]))
    models[M2V_ROW] = m2v
    return models, {row: (row, path) for row, path in paths.items()}, tfidf_model


def teacher_row(facts: dict, rows: list[dict]) -> dict:
    distilled = [r for r in rows if r.get("teacher_test_accuracy") is not None]
    return {
        **facts,
        "test_accuracy_mean": distilled[0]["teacher_test_accuracy"],
        "n_runs": 1,
        "teacher_logits_s_total": round(sum(r["teacher_logits_s"] for r in distilled), 1),
        "teacher_texts_computed_total": sum(r["teacher_texts_computed"] for r in distilled),
    }


def run_dataset(
    data_dir: str, name: str, workdir: str, quick: bool, chosen: tuple | None, reused_grid: dict | None = None
) -> dict:
    """One dataset's rows. `chosen`: (candidate name, its settings) chosen on an earlier dataset's validation, or
    None to choose here (the grid). `reused_grid`: this dataset's grid from an earlier run ({"rows", "reused"}),
    reported as it was measured (its students are not timed again); `chosen` is then that run's choice."""
    seeds = QUICK_SEEDS if quick else SEEDS
    splits = load_splits(data_dir, name, workdir)
    teacher_dir, teacher_facts = teacher(data_dir, name, workdir, quick, splits["train"][0])
    root = os.path.join(workdir, f"distill-{name}")
    os.makedirs(root, exist_ok=True)
    base = {
        "data_dir": data_dir,
        "dataset": name,
        "quick": quick,
        "files": data_files(data_dir, name, workdir),
        "cache_dir": os.path.join(os.path.dirname(teacher_dir), "logits"),
        "log_path": os.path.join(root, "runs.jsonl"),
        "root": root,
    }
    first, second = plan(base, teacher_dir, seeds, chosen, quick)
    rows = run_jobs(first, quick)
    by_key = {r["key"]: r for r in rows}
    if reused_grid is not None:
        grid = reused_grid["rows"]
    else:
        grid = {k: v for k, v in by_key.items() if k.startswith(("candidate ", "size "))}
    if chosen is None:
        name_chosen = choose({c: by_key[f"candidate {c}"] for c in candidates(quick)})
        chosen = (name_chosen, DISTILL_CANDIDATES[name_chosen])
        second = distilled_jobs(base, teacher_dir, seeds, chosen[1], skip_first=True)
        rows.append(dict(by_key[f"candidate {name_chosen}"], key=DISTILLED_ROWS["glove"]))
        grid[f"size {DEFAULT_SIZE_KEY}"] = dict(by_key[f"candidate {DISTILL_DEFAULT_CANDIDATE}"])
    rows += run_jobs(second, quick)
    models = {TEACHER_ROW: teacher_row(teacher_facts, rows)}
    for label in (*DISTILLED_ROWS.values(), *GRU_HF_ROWS.values()):
        runs = sorted((r for r in rows if r["key"] == label), key=lambda r: r["seed"])
        models[label] = {"runs": runs, **summarise(runs)}
    peers, paths, tfidf_model = peer_rows(splits, seeds, quick, root, workdir)
    models.update(peers)
    paths[TEACHER_ROW] = ("PyTorch bare", teacher_dir)
    for label in (*DISTILLED_ROWS.values(), *GRU_HF_ROWS.values()):
        directory = models[label]["runs"][0]["output_dir"]
        paths[label] = ("PyTorch bare", directory)
        if os.path.isfile(os.path.join(directory, "onnx", "model.onnx")):  # the export every job ends with
            paths[(label, RUNTIME_LOADER)] = (RUNTIME_LOADER, directory)
    for key, row in grid.items():
        if key.startswith("size ") and reused_grid is None:
            paths[key] = ("PyTorch bare", row["output_dir"])
    for row, value in speed_rows(paths, tfidf_model, splits["test"][0]).items():
        if isinstance(row, tuple):  # (label, RUNTIME_LOADER): the same student served by gru-hf's ONNX runtime
            models[row[0]]["runtime_sentences_per_s"] = value
        else:
            (models[row] if row in models else grid[row])["sentences_per_s"] = value
    transfer = models[DISTILLED_ROWS["glove"]]["runs"][0].get("transfer_set")
    reused = {"grid_reused": reused_grid["reused"]} if reused_grid is not None else {}
    return {
        **reused,
        "test_name": DATASETS[name]["test_name"],
        "sizes": {split: len(splits[split][0]) for split in ("train", "validation", "test")},
        "chosen": chosen[0],
        "settings": chosen[1],
        "student_model": DISTILL_STUDENT_MODEL.get(name, {}),  # what distilled_jobs gave its students
        "transfer_set": transfer,
        "grid": grid,
        "models": models,
        "targets": target_checks(name, models),
    }


DEFAULT_SIZE_KEY = "hidden 128, 2 layers (the MR settings)"


def _fasttext(splits: dict, seeds, quick: bool, root: str) -> tuple[str, dict]:
    import fasttext

    from .fasttext_io import fasttext_file
    from .peers import run_fasttext

    result = run_fasttext(splits, list(seeds), quick, root)
    params = {k: v for k, v in result["chosen"].items() if k not in ("wordNgrams", "thread")}
    train_file = fasttext_file(os.path.join(root, "fasttext.timed.txt"), *splits["train"])
    path = os.path.join(root, "fasttext.bin")
    fasttext.train_supervised(input=train_file, wordNgrams=2, thread=1, seed=seeds[0], verbose=0, **params).save_model(
        path
    )
    return path, result


def _model2vec_predictions(path: str, texts: list[str]) -> list[int]:
    from .serving import LOADERS

    _, predict = LOADERS[M2V_ROW](path, 1)
    return predict(texts)


def target_checks(name: str, models: dict) -> dict:
    def mean(label):
        return models.get(label, {}).get("test_accuracy_mean")

    checks = {}
    student = DISTILLED_ROWS["glove"]
    for label, target in DISTILL_TARGETS["accuracy"][name].items():
        checks[f"{label} >= {target}"] = (mean(label), target)
    teacher_acc = mean(TEACHER_ROW)
    checks[f"{student} within 2.0 of the teacher"] = (mean(student), teacher_acc - 2.0)
    speed = models[student].get("sentences_per_s")
    teacher_speed = models[TEACHER_ROW].get("sentences_per_s")
    if speed and teacher_speed:
        checks[f"{student} >= 30x the teacher's sentences/s"] = (speed / teacher_speed, 30.0)
    for init, label in DISTILLED_ROWS.items():
        checks[f"{label} >= {GRU_HF_ROWS[init]} + 2.0"] = (mean(label), (mean(GRU_HF_ROWS[init]) or 0) + 2.0)
    for peer in (M2V_ROW, TFIDF_ROW, FASTTEXT_ROW):
        if mean(peer) is not None:
            checks[f"{student} > {peer}"] = (mean(student), mean(peer))
    return {
        k: {"value": v, "threshold": t, "margin": v - t, "met": v >= t if ">=" in k or "within" in k else v > t}
        for k, (v, t) in checks.items()
        if v is not None and t is not None
    }


def saved_result_path(name: str) -> str:
    return os.path.join(TEACHER_ROOT, name, "distillation-result.json")


def save_dataset_result(name: str, result: dict, started: dict) -> None:
    """Keep a finished dataset's rows beside its teacher (outputs/, ignored by git), stamped with the commit and
    time the run started at (`started`), so that a later run may reuse them on request (GRU_HF_DISTILL_REUSE)."""
    os.makedirs(os.path.dirname(saved_result_path(name)), exist_ok=True)
    with open(saved_result_path(name), "w", encoding="utf-8") as f:
        json.dump({"measured": started, "result": result}, f, indent=1)


def reused_result(name: str) -> dict:
    with open(saved_result_path(name), encoding="utf-8") as f:
        saved = json.load(f)
    return {**saved["result"], "reused": saved["measured"]}


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    """Every dataset of DISTILL_DATASETS (or of GRU_HF_DISTILL_DATASETS, comma-separated, in that order). A dataset
    named in GRU_HF_DISTILL_REUSE is not rerun: its rows from an earlier run (saved beside its teacher) are reported
    with that run's commit and time. A dataset named in GRU_HF_DISTILL_REUSE_GRID reruns its rows with the choice
    and grid of its earlier run (reported with that run's commit and time), skipping the grid's hour of training."""
    names = DISTILL_DATASETS[:1] if quick else DISTILL_DATASETS
    if not quick and os.environ.get("GRU_HF_DISTILL_DATASETS"):
        names = tuple(n.strip() for n in os.environ["GRU_HF_DISTILL_DATASETS"].split(",") if n.strip())

    def named(variable):
        return set() if quick else {n.strip() for n in os.environ.get(variable, "").split(",")}

    reuse, reuse_grid = named("GRU_HF_DISTILL_REUSE"), named("GRU_HF_DISTILL_REUSE_GRID")
    started = {"git": git_commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # commits made later do not count
    datasets, chosen = {}, None
    for name in names:
        log(f"distillation: {name}")
        if name in reuse:
            datasets[name] = reused_result(name)
        else:
            grid = None
            if name in reuse_grid:
                saved = reused_result(name)
                chosen, grid = (saved["chosen"], saved["settings"]), {"rows": saved["grid"], "reused": saved["reused"]}
            datasets[name] = run_dataset(data_dir, name, workdir, quick, chosen, grid)
            if not quick:
                save_dataset_result(name, datasets[name], started)
        # Chosen on the first dataset's validation (MR), used on the others: its settings as recorded, so that rows
        # reused from a run whose candidates had other names still pass on what they ran with.
        chosen = (datasets[name]["chosen"], datasets[name]["settings"])
        with open(os.path.join(workdir, "distillation-partial.json"), "w", encoding="utf-8") as f:
            json.dump(datasets, f, indent=1)
    return {
        "seeds": list(QUICK_SEEDS if quick else SEEDS),
        "workers": DISTILL_WORKERS,
        "threads_per_job": 1,
        "augment_seed": DISTILL_AUGMENT_SEED,
        "candidates": DISTILL_CANDIDATES,
        "student_sizes": {} if quick else STUDENT_SIZES,
        "chosen_on": names[0],
        "quick": quick,
        "datasets": datasets,
    }


def render(results: dict) -> str:
    lines = []
    for d in results["datasets"].values():
        teacher_row = d["models"][TEACHER_ROW]
        rows = []
        for label, m in d["models"].items():
            if "test_accuracy_mean" not in m:
                rows.append([label, "not measured: " + str(m.get("not_measured", "")), "", "", "", "", "", ""])
                continue
            std = m.get("test_accuracy_std")
            acc = fmt(m["test_accuracy_mean"]) + (f" ± {fmt(std)}" if std is not None and m["n_runs"] > 1 else "")
            train = teacher_row.get("train_runtime_s") if label == TEACHER_ROW else m.get("train_s_mean")
            train_cell = fmt(train, 1) + (" (reused)" if label == TEACHER_ROW and m.get("reused") else "")
            logits = m.get("teacher_logits_s_total") if label == TEACHER_ROW else m.get("teacher_logits_s_mean")
            rows.append(
                [
                    label,
                    acc,
                    m["n_runs"],
                    train_cell,
                    fmt(logits, 1) if logits is not None else "",
                    fmt(m.get("sentences_per_s", float("nan")), 0),
                    fmt(m["runtime_sentences_per_s"], 0) if "runtime_sentences_per_s" in m else "",
                    fmt(m["agreement_test_mean"]) if "agreement_test_mean" in m else "",
                ]
            )
        reused = (
            f" Rows reused from the run at git {d['reused']['git']}, {d['reused']['date']}." if "reused" in d else ""
        )
        if teacher_row.get("note"):
            reused += f" The teacher: {teacher_row['note']}."
        lines += [
            f"**{d['test_name']}**{reused} (train {d['sizes']['train']:,}, validation "
            f"{d['sizes']['validation']:,}, test {d['sizes']['test']:,}; transfer set {d['transfer_set']}; "
            f"settings `{d['settings']}`, candidate '{d['chosen']}'"
            + "".join(f"; {init} students also `{opts}`" for init, opts in d.get("student_model", {}).items())
            + "):",
            "",
            *table(
                [
                    "model",
                    "test acc",
                    "runs",
                    "train s",
                    "teacher logits s",
                    "sentences/s (b64, 1 thread)",
                    "ONNX runtime sentences/s",
                    "agrees with teacher %",
                ],
                ["l", "r", "r", "r", "r", "r", "r", "r"],
                rows,
            ),
            "",
        ]
        served = d["models"].get(DISTILLED_ROWS["glove"], {}).get("runtime_sentences_per_s")
        if served and teacher_row.get("sentences_per_s"):
            lines += [
                "Served the way `gru-hf predict` serves it (its ONNX export through `OnnxClassifier`, text in, "
                "labels out, batch 64, 1 thread), the distilled GloVe student classifies "
                f"{fmt(served, 0)} sentences/s, {served / teacher_row['sentences_per_s']:.1f}x the teacher's "
                "PyTorch rate above (the target's check below compares both in PyTorch).",
                "",
            ]
        if d["grid"]:
            grid_rows = [
                [
                    k,
                    fmt(r["validation_accuracy"]),
                    fmt(r["sentences_per_s"], 0) if "sentences_per_s" in r else "",
                    fmt(r["train_s"], 1),
                ]
                for k, r in d["grid"].items()
            ]
            grid_source = (
                f" (the grid of the run at git {d['grid_reused']['git']}, {d['grid_reused']['date']}, reused)"
                if "grid_reused" in d
                else ""
            )
            lines += [
                f"Chosen on {d['test_name'].split()[0]} validation (seed 0, GloVe student){grid_source}:",
                "",
                *table(
                    ["setting or student size", "val acc", "sentences/s", "train s"], ["l", "r", "r", "r"], grid_rows
                ),
                "",
            ]
        checks = [
            [k, fmt(c["value"]), fmt(c["threshold"]), f"{c['margin']:+.2f}", fmt(c["met"])]
            for k, c in d["targets"].items()
        ]
        lines += [
            "Targets:",
            "",
            *table(["check", "value", "threshold", "margin", "met"], ["l", "r", "r", "r", "l"], checks),
            "",
        ]
    missing = [DATASETS[n]["test_name"] for n in DISTILL_DATASETS if n not in results["datasets"]]
    if missing and not results.get("quick"):
        lines.append(f"Not in this record: {', '.join(missing)} (the run was limited by GRU_HF_DISTILL_DATASETS).")
        lines.append("")
    lines.append(
        f"Seeds {results['seeds']} (the teacher: one fine-tune); {results['workers']} jobs side by side, one thread "
        f"each; augmented copies drawn with seed {results['augment_seed']} for every student seed. Train s: the "
        "Trainer's train_runtime; teacher logits s: labelling the transfer set (the teacher row: the total over every "
        "run, cached texts read back included)."
    )
    return "\n".join(lines)

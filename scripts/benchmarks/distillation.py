"""Benchmark section: distillation on MR. A MiniLM teacher (`gru-hf teacher --base_model all-MiniLM-L6-v2`, or one
fine-tuned earlier: `--teacher_dir`), its logits cached under the work directory, a gru-hf student distilled from it
with `gru-hf distill`'s defaults (GloVe 50d), and the same student trained without the teacher.

    python scripts/benchmarks/distillation.py --data_dir ../shared/data --workdir outputs/bench-distill \\
        [--teacher_dir outputs/teacher-mr] [--quick]

`--quick` runs the same steps on tiny data made in code (a tiny BERT teacher), in well under a minute.
"""

import argparse
import csv
import json
import os
import time

TEACHER_BASE = "all-MiniLM-L6-v2"


def _parse(classes, options: dict):
    from transformers import HfArgumentParser

    argv = [str(item) for pair in options.items() for item in pair]
    return HfArgumentParser(classes).parse_args_into_dataclasses(args=argv)


def _teacher(teacher_dir, base, files, workdir, extra):
    """Reuse a complete teacher directory, else fine-tune one; returns (dir, its results, seconds spent here)."""
    from gru_hf.distillation import TEACHER_ARGUMENT_CLASSES, train_teacher

    teacher_dir = teacher_dir or os.path.join(workdir, "teacher")
    results_file = os.path.join(teacher_dir, "results.json")
    start = time.time()
    if os.path.isfile(results_file) and os.path.isfile(os.path.join(teacher_dir, "config.json")):
        with open(results_file, encoding="utf-8") as f:
            return teacher_dir, json.load(f), True, 0.0
    options = {"--base_model": base, **files, "--output_dir": teacher_dir, "--overwrite_output_dir": "true", **extra}
    results = train_teacher(*_parse(TEACHER_ARGUMENT_CLASSES, options))
    return teacher_dir, results, False, time.time() - start


def _student(files, output_dir, student_options, teacher_dir=None, cache_dir=None):
    from gru_hf.distillation import DISTILL_ARGUMENT_CLASSES, distill
    from gru_hf.training import ARGUMENT_CLASSES, train

    options = {**files, "--output_dir": output_dir, "--overwrite_output_dir": "true", **student_options}
    start = time.time()
    if teacher_dir is None:
        results = train(*_parse(ARGUMENT_CLASSES, options))
    else:
        options.update({"--teacher": teacher_dir, "--teacher_cache_dir": cache_dir})
        results = distill(*_parse(DISTILL_ARGUMENT_CLASSES, options))
    results["wall_s"] = round(time.time() - start, 1)
    return results


def _tiny_data(workdir):
    """Word-sentiment sentences and a tiny BERT base (WordPiece vocabulary trained here)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    positive, negative = ["good", "great", "fine", "lovely"], ["bad", "awful", "dull", "poor"]
    rows = [
        (f"{start} {word} {end}", "positive" if word in positive else "negative")
        for start in ("the film was", "this movie is", "a story that felt", "the acting seemed")
        for word in positive + negative
        for end in ("today", "overall", "to me", "in the end")
    ]
    files = {}
    for split, part in (("train", rows[::2] + rows[1::4]), ("test", rows[3::4])):
        path = os.path.join(workdir, f"{split}.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([("text", "label"), *part])
        files[f"--{split}_file"] = path
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend.train_from_iterator(
        [t for t, _ in rows], trainers.WordPieceTrainer(vocab_size=100, special_tokens=specials)
    )
    ids = [("[CLS]", backend.token_to_id("[CLS]")), ("[SEP]", backend.token_to_id("[SEP]"))]
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=ids)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=32,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    base = os.path.join(workdir, "tiny-bert")
    BertForSequenceClassification(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    return base, files


def run(data_dir: str, workdir: str, quick: bool, teacher_dir: str | None = None) -> dict:
    os.makedirs(workdir, exist_ok=True)
    if quick:
        base, files = _tiny_data(workdir)
        teacher_extra = {
            "--learning_rate": "3e-3",
            "--num_train_epochs": "8",
            "--per_device_train_batch_size": "16",
            "--warmup_steps": "0",
            "--disable_tqdm": "true",
        }
        student = {
            "--min_frequency": "1",
            "--embedding_dim": "16",
            "--hidden_size": "16",
            "--num_train_epochs": "3",
            "--learning_rate": "0.01",
            "--disable_tqdm": "true",
            "--speed_texts": "64",
        }
        dataset, student_name = "tiny (made in code)", "random init"
    else:
        base = TEACHER_BASE
        files = {
            "--train_file": os.path.join(data_dir, "mr", "train.csv"),
            "--test_file": os.path.join(data_dir, "mr", "test.csv"),
        }
        teacher_extra = {"--disable_tqdm": "true"}
        student = {"--glove": os.path.join(data_dir, "glove", "glove.6B.50d.subset.txt"), "--disable_tqdm": "true"}
        dataset, student_name = "MR test", "GloVe 50d"
    teacher_dir, teacher_results, reused, teacher_s = _teacher(teacher_dir, base, files, workdir, teacher_extra)
    cache_dir = os.path.join(workdir, "teacher_logits")
    distilled = _student(files, os.path.join(workdir, "student-distilled"), student, teacher_dir, cache_dir)
    student_plain = {k: v for k, v in student.items() if k != "--speed_texts"}
    plain = _student(files, os.path.join(workdir, "student-plain"), student_plain)
    facts = distilled["distillation"]
    split = facts["split"]
    return {
        "dataset": dataset,
        "split": split,
        "student": student_name,
        "teacher": {
            "base_model": base if not quick else "tiny BERT (made in code)",
            "dir": teacher_dir,
            "reused": reused,
            "train_runtime_s": teacher_results.get("train_runtime_s"),
            "fine_tune_wall_s": round(teacher_s, 1),
            "accuracy": facts[f"teacher_{split}_metrics"][f"{split}_accuracy"],
        },
        "distilled": {
            "accuracy": distilled[split][f"{split}_accuracy"],
            "train_runtime_s": distilled["train_runtime_s"],
            "wall_s": distilled["wall_s"],
            "teacher_logits_s": facts["teacher_logits_s"],
            "teacher_texts_computed": facts["teacher_texts_computed"],
            "agreement": facts[f"agreement_{split}"],
            "transfer_set": facts["transfer_set"],
            "settings": {
                k: facts[k] for k in ("augment_factor", "augment_replacement", "distill_alpha", "distill_loss")
            },
        },
        "plain": {
            "accuracy": plain[split][f"{split}_accuracy"],
            "train_runtime_s": plain["train_runtime_s"],
            "wall_s": plain["wall_s"],
        },
        "speed": facts.get("speed"),
    }


def render(results: dict) -> str:
    speed = results.get("speed") or {}
    teacher, distilled, plain = results["teacher"], results["distilled"], results["plain"]
    fine_tune = f"{teacher['train_runtime_s']}" + (" (reused)" if teacher["reused"] else "")
    rows = [
        (
            "teacher: " + teacher["base_model"],
            teacher["accuracy"],
            fine_tune,
            "",
            speed.get("teacher_sentences_per_s", ""),
        ),
        (
            f"gru-hf distilled ({results['student']})",
            distilled["accuracy"],
            distilled["train_runtime_s"],
            distilled["teacher_logits_s"],
            speed.get("student_sentences_per_s", ""),
        ),
        (
            f"gru-hf without teacher ({results['student']})",
            plain["accuracy"],
            plain["train_runtime_s"],
            "",
            speed.get("student_sentences_per_s", ""),
        ),
    ]
    lines = [
        f"| {results['dataset']} | accuracy | train s | teacher logits s | sentences/s (batch 64) |",
        "|---|---|---|---|---|",
        *(f"| {name} | {100 * acc:.2f} | {train} | {logits} | {sps} |" for name, acc, train, logits, sps in rows),
        "",
        f"Student/teacher agreement on {results['split']}: {100 * distilled['agreement']:.2f}%; transfer set "
        f"{distilled['transfer_set']}; settings {distilled['settings']}; teacher logits computed for "
        f"{distilled['teacher_texts_computed']} texts this run (the rest cached); speed-up "
        f"{speed.get('speedup', 'n/a')}x on {speed.get('texts', 'n/a')} {results['split']} texts "
        f"({speed.get('threads', 'n/a')} threads).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default="../shared/data")
    parser.add_argument("--workdir", default="outputs/bench-distill")
    parser.add_argument("--teacher_dir", default=None, help="a teacher fine-tuned earlier (its results.json reused)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = run(args.data_dir, args.workdir, args.quick, teacher_dir=args.teacher_dir)
    with open(os.path.join(args.workdir, "distillation.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(render(results))


if __name__ == "__main__":
    main()

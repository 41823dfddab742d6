"""Training speed: gru-hf's training path (its model in a hand loop, and the Trainer) against the seed loop at
identical sizes, on the same pre-tokenised SST-2 texts, with utilisation against the GEMM peak of this process."""

import os
from functools import partial

import torch

import gru_hf

from .data import speed_data
from .peers import GRUHFAdapter, SeedClassifier, length_grouped_order, random_order, set_all_seeds, train_loop
from .report import fmt, table
from .settings import PROJECT_DEFAULT_SIZES, SEED_LR, SPEED_BATCH, SPEED_REPEATS
from .timing import Meter, interleaved, log, measure_peak, utilisation

SEED_NO_FTZ = "seed loop, random batches, no flush-to-zero"
SHORT_SIZES_NOTE = (
    " At the short recipe's sizes the same, with its extra GloVe words as vocabulary rows that no training text "
    "looks up, in every model of the rows (the plain loops' Adam updates them, `GRUTrainer` leaves them out)."
)


def vocabulary_rows(data, sizes) -> int:
    """The data's vocabulary, and the rows that no training text looks up (`extra_rows`: the short recipe's GloVe
    words)."""
    return data["vocab_size"] + sizes.get("extra_rows", 0)


def timed_loop(model_cls, data, sizes, order, epochs, flush_denormal, seed=0, **model_kwargs) -> dict:
    """One hand-loop training run of `model_cls`, timed by a Meter; `order` is "random" or "grouped"."""
    set_all_seeds(seed)
    model = model_cls(
        vocabulary_rows(data, sizes),
        sizes["embedding_dim"],
        sizes["hidden_size"],
        data["num_labels"],
        bidirectional=sizes["bidirectional"],
        **model_kwargs,
    )
    n = len(data["ids"])

    def order_fn(generator):
        if order == "random":
            return random_order(n, generator)
        return length_grouped_order(data["lengths"], SPEED_BATCH, generator)

    torch.set_flush_denormal(flush_denormal)
    try:
        meter = train_loop(model, data["ids"], data["labels"], epochs, order_fn, seed, SPEED_BATCH)
    finally:
        torch.set_flush_denormal(True)
    return meter.result()


def speed_trainer(
    data, sizes, workdir, model_config, callbacks=(), trainer_class=None, collator=None, every_row=False, **overrides
):
    """The Trainer of the engine rows, not yet trained: gru-hf's model and `GRUTrainingArguments` on the
    pre-tokenised data (length-grouped batches, flush-to-zero, no evaluation, saving or logging), seeded. `overrides`
    replace training arguments (the profile section's knobs); `collator` defaults to what gru-hf's own job uses;
    `every_row`: the optimizer gets every embedding row, the rows no text looks up too (`GRUTrainer` leaves them
    out). Returns (trainer, tokens), where tokens[0] counts the real tokens collated since it was last reset."""
    from datasets import Dataset

    from gru_hf.training import GRUTrainer, GRUTrainingArguments, configure_cpu, data_collator

    configure_cpu()
    set_all_seeds(0)
    config = gru_hf.GRUConfig(
        vocab_size=vocabulary_rows(data, sizes),
        embedding_dim=sizes["embedding_dim"],
        hidden_size=sizes["hidden_size"],
        bidirectional=sizes["bidirectional"],
        num_labels=data["num_labels"],
        **model_config,
    )
    model = gru_hf.GRUForSequenceClassification(config)
    dataset = Dataset.from_dict({"input_ids": data["ids"], "labels": data["labels"]})
    arguments = {
        "output_dir": os.path.join(workdir, "trainer-speed"),
        "overwrite_output_dir": True,
        "num_train_epochs": 1,
        "per_device_train_batch_size": SPEED_BATCH,
        "learning_rate": SEED_LR,
        "warmup_steps": 0,
        "eval_strategy": "no",
        "save_strategy": "no",
        "logging_strategy": "no",
        "load_best_model_at_end": False,
        "early_stopping_patience": 0,
        "disable_tqdm": True,
        "seed": 0,
        **overrides,
    }
    collate = collator or data_collator(data["tokenizer"])
    tokens = [0]

    def counting_collator(features):
        tokens[0] += sum(len(f["input_ids"]) for f in features)
        return collate(features)

    trainer = (trainer_class or GRUTrainer)(
        model=model,
        args=GRUTrainingArguments(**arguments),
        train_dataset=dataset,
        processing_class=data["tokenizer"],
        data_collator=counting_collator,
        callbacks=list(callbacks),
    )
    trainer.train_looked_up_rows_only = not every_row
    return trainer, tokens


def timed_trainer(data, sizes, epochs, workdir, model_config, collator=None, rows_in_memory=True, **overrides) -> dict:
    """gru-hf's own Trainer path (`GRUTrainer`) on the pre-tokenised data: length-grouped batches, flush-to-zero;
    `rows_in_memory=False`: its training rows read from the Arrow Dataset instead (see `GRUTrainer`)."""
    from transformers import TrainerCallback

    meter = Meter()
    counter = []

    class MeterCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            meter.start()

        def on_step_end(self, args, state, control, **kwargs):
            meter.tick(counter[0][0])
            counter[0][0] = 0

    trainer, tokens = speed_trainer(
        data, sizes, workdir, model_config, [MeterCallback()], collator=collator, num_train_epochs=epochs, **overrides
    )
    counter.append(tokens)
    trainer.training_rows_in_memory = rows_in_memory
    runtime = trainer.train().metrics["train_runtime"]
    total = epochs * data["stats"]["tokens"]
    return {**meter.result(), "train_runtime_s": runtime, "tokens_per_s_train_runtime": total / runtime}


def size_sets(quick: bool) -> dict:
    """{name: (sizes, gru-hf config)}: the seed's sizes with the seed's computation, the project defaults, and the
    short-text recipe's (GloVe's 50 dimensions and the recipe's hidden size and extra words)."""
    from gru_hf.training import SHORT_RECIPE

    if quick:
        return {
            "tiny sizes (E=16, H=16, unidirectional)": (
                {"embedding_dim": 16, "hidden_size": 16, "bidirectional": False},
                {"pooling": "last"},
            )
        }
    return {
        "seed sizes (E=50, H=100, unidirectional)": (
            {"embedding_dim": 50, "hidden_size": 100, "bidirectional": False},
            {"pooling": "last", "embedding_dropout": 0.0, "classifier_dropout": 0.0},
        ),
        "project default sizes (E=100, H=128, bidirectional)": (PROJECT_DEFAULT_SIZES, {}),
        f"short recipe sizes (E=50, H={SHORT_RECIPE['hidden_size']}, bidirectional, "
        f"{SHORT_RECIPE['glove_extra_words']:,} more vocabulary rows)": (
            {
                "embedding_dim": 50,
                "hidden_size": SHORT_RECIPE["hidden_size"],
                "bidirectional": True,
                "extra_rows": SHORT_RECIPE["glove_extra_words"],
            },
            {},
        ),
    }


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    log("engine: peak GEMM")
    peak = measure_peak(quick)
    data = speed_data(data_dir, workdir, quick)
    epochs, repeats = 1, 1 if quick else SPEED_REPEATS
    section = {
        "peak": peak,
        "data": data["stats"],
        "epochs": epochs,
        "repeats": repeats,
        "batch_size": SPEED_BATCH,
        "optimizer": "Adam lr 1e-3",
        "rows": {},
    }
    for size_name, (sizes, model_config) in size_sets(quick).items():
        log(f"engine: {size_name}")
        jobs = {
            SEED_NO_FTZ: partial(timed_loop, SeedClassifier, data, sizes, "random", epochs, False),
            "seed loop, random batches, flush-to-zero": partial(
                timed_loop, SeedClassifier, data, sizes, "random", epochs, True
            ),
            "gru-hf model, hand loop, length-grouped, flush-to-zero": partial(
                timed_loop, GRUHFAdapter, data, sizes, "grouped", epochs, True, **model_config
            ),
            "gru-hf Trainer (train_runtime), length-grouped, flush-to-zero": partial(
                timed_trainer, data, sizes, epochs, workdir, model_config
            ),
        }
        rows = interleaved(jobs, repeats)
        base = rows[SEED_NO_FTZ]["tokens_per_s"]
        for row in rows.values():
            row["speedup_vs_seed"] = row["tokens_per_s"] / base
            row["utilisation"] = utilisation(row["tokens_per_s"], sizes, peak)
        section["rows"][size_name] = {"sizes": sizes, "model_config": model_config, "rows": rows}
    section["peak_after"] = measure_peak(quick)
    return section


def peak_line(peak: dict) -> str:
    return (
        f"Peak measured in this process: torch.mm 2048x2048 {fmt(peak['gemm_2048x2048']['gflops'], 1)} GFLOP/s, "
        f"64x128 @ 128x384 {fmt(peak['gemm_64x128_128x384']['gflops'], 1)} GFLOP/s. Utilisation = GRU training "
        "FLOP/s (3 x 2 x 3H(E+H) per real token and direction) / peak."
    )


def render(results: dict) -> str:
    d = results["data"]
    rows = []
    for size_name, block in results["rows"].items():
        for path, row in block["rows"].items():
            u = row["utilisation"]
            rows.append(
                [
                    size_name,
                    path,
                    fmt(row["tokens_per_s"], 0),
                    f"{row['speedup_vs_seed']:.2f}x",
                    fmt(u["gflops"], 1),
                    f"{100 * u['of_peak_2048']:.1f}",
                    f"{100 * u['of_peak_step_gemm']:.1f}",
                    f"{100 * row['clean_fraction']:.0f}",
                ]
            )
    lines = [
        f"SST-2 train, first {d['texts']:,} texts, {d['tokens']:,} real tokens, mean length {d['mean_length']:.1f}, "
        f"max {d['max_length']}; {results['epochs']} epoch, batch {results['batch_size']}, {results['optimizer']}; "
        f"best of {results['repeats']} interleaved runs. {peak_line(results['peak'])}",
        "",
        *table(
            [
                "sizes",
                "path",
                "real tokens/s",
                "vs seed",
                "GFLOP/s",
                "% of 2048² peak",
                "% of step-GEMM peak",
                "clean %",
            ],
            ["l", "l", "r", "r", "r", "r", "r", "r"],
            rows,
        ),
        "",
        "gru-hf hand loop = GRUForSequenceClassification in a plain Adam loop over the Trainer's length-grouped "
        "order; gru-hf Trainer = `GRUTrainer.train()` on the same pre-tokenised data (its train_runtime, AdamW). "
        "At seed sizes gru-hf uses pooling=last and no dropout (the seed's computation); at project sizes its "
        "defaults (max pooling, dropout 0.25) against a seed BiGRU reading both final states."
        + (SHORT_SIZES_NOTE if any(b["sizes"].get("extra_rows") for b in results["rows"].values()) else "")
        + " Clean % = share of the timed slices in which other processes used under a quarter of a core.",
    ]
    return "\n".join(lines)

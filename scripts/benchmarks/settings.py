"""Every setting of the benchmark in one place: datasets, splits, seeds, per-dataset choices (with the validation
numbers that chose them, never test numbers), the peer baselines' grids and the targets."""

DATASETS = {
    "mr": {"train": "mr/train.csv", "test": "mr/test.csv", "test_name": "MR test"},
    "sst2": {"train": "sst2/train.csv", "test": "sst2/dev.csv", "test_name": "SST-2 GLUE dev"},
}
# Sentence-level SST-2 training split: the honest SST-2 validation split is carved from its sentences (see data.py).
SST2_SENTENCES = "sst2/sst_sentences/train.csv"
GLOVE_FILE = "glove/glove.6B.50d.subset.txt"
SPLIT_SEED = 42
VALIDATION_PERCENT = 10  # MR: 10% of train.csv; SST-2: 10% of the training sentences, with all their phrases
SEEDS = (0, 1, 2)
QUICK_SEEDS = (0,)

# gru-hf training job: ModelArguments / GRUTrainingArguments overrides of the package defaults, per dataset and init.
# Chosen on the MR validation split (960 texts, so +-1 point is noise), mean of 2 seeds:
# - random init: learning_rate 1e-3 (76.4 vs 74.7 at the default 2e-3); dropout 0.5 75.8, mean pooling + dropout
#   0.5 74.5. Second round: learning_rate 1e-3 77.3 (kept); up to 20 epochs 76.6; 2 layers and up to 20 epochs 76.9.
# - GloVe: all training words kept (min_frequency 1, GloVe knows most singletons), mean pooling, dropout 0.5,
#   learning_rate 1e-3: 77.0 vs 75.7 with the defaults; frozen embeddings 73.2, hidden 64 75.7. A second round
#   (after packing; the split had been made stratified, so its numbers are not comparable with the first round's):
#   those settings 78.2; up to 20 epochs 78.8; hidden 256 78.3; 2 layers (hidden_dropout 0.3) 78.6; 2 layers and up
#   to 20 epochs 79.2 (chosen); --glove_extra_words 50000 77.4, 20000 77.5.
# SST-2 (seed 0, 3 epochs, the most the time budget allows): random init keeps the default learning_rate 2e-3 (92.4
# vs 91.1 at 1e-3). GloVe: the MR choices do not transfer (90.4); the model defaults give 91.5, with min_frequency 1
# 91.6 (chosen). Those numbers come from a validation split carved from GLUE train, whose phrases overlap the
# training sentences (92% on it, 84% on dev); they are to be revisited on the sentence-held-out split of data.py.
MR_RANDOM = {"model": {}, "training": {"learning_rate": 1e-3}}
MR_GLOVE = {
    "model": {
        "min_frequency": 1,
        "pooling": "mean",
        "embedding_dropout": 0.5,
        "classifier_dropout": 0.5,
        "num_hidden_layers": 2,
        "hidden_dropout": 0.3,
    },
    "training": {"learning_rate": 1e-3, "num_train_epochs": 20},
}
GRU_HF_SETTINGS = {
    "mr": {"random": MR_RANDOM, "glove": MR_GLOVE},
    "sst2": {
        "random": {"model": {}, "training": {"num_train_epochs": 3}},
        "glove": {"model": {"min_frequency": 1}, "training": {"num_train_epochs": 3}},
    },
}
GRU_HF_ROWS = {"random": "gru-hf (random init)", "glove": "gru-hf (GloVe 50d)"}

# The seed recipe (plain PyTorch Embedding -> GRU -> Linear): fixed epochs, chosen on validation.
SEED_SIZES = {"embedding_dim": 50, "hidden_size": 100}
# Validation accuracy by epoch (mean of 2 seeds): MR 65.9/70.9/71.2/71.7/71.3 at epochs 4-8 -> 7; SST-2
# 79.2/86.5/88.7/89.9 at epochs 1-4, still rising -> 4 (the time budget's cap).
SEED_EPOCHS = {"mr": 7, "sst2": 4}
SEED_BATCH = 64
SEED_LR = 1e-3
SEED_ROW = "seed recipe (Embedding-GRU-Linear)"

# Peer baselines: grids searched on validation inside the run (cheap).
TFIDF_C_GRID = (1.0, 3.0, 10.0, 30.0)
TFIDF_ROW = "TF-IDF 1-2 grams + LR"
FASTTEXT_GRID = ({"epoch": 5, "lr": 0.1}, {"epoch": 10, "lr": 0.1}, {"epoch": 10, "lr": 0.5}, {"epoch": 25, "lr": 0.5})
FASTTEXT_ROW = "fastText (wordNgrams=2)"

# Targets: test accuracy (%) the gru-hf rows must reach, and the peers each gru-hf row must beat. Never lowered.
TARGETS = {
    "mr": {"gru-hf (GloVe 50d)": 80.0, "gru-hf (random init)": 77.0},
    "sst2": {"gru-hf (GloVe 50d)": 87.0, "gru-hf (random init)": 84.5},
}
MUST_BEAT = (TFIDF_ROW, FASTTEXT_ROW)

PROJECT_DEFAULT_SIZES = {"embedding_dim": 100, "hidden_size": 128, "bidirectional": True}

# Speed: SST-2 training texts used for the engine and strategy measurements (the first N of the train split).
SPEED_EXAMPLES = {"full": 20000, "quick": 256}
SPEED_BATCH = 64
SPEED_REPEATS = 2  # each timing is run this many times, interleaved with the others; the best run is kept

# Serving: one gru-hf model per dataset trained with the package defaults (`gru-hf train --train_file ... --glove
# glove-6b-50d`, validation carved by the package's own default), served seven ways on the same test texts.
SERVING_DATASETS = {
    "mr": {"train": "mr/train.csv", "test": "mr/test.csv", "test_name": "MR test"},
    "sst2": {"train": SST2_SENTENCES, "test": "sst2/dev.csv", "test_name": "SST-2 GLUE dev"},
}
SERVING_QUICK_DATASETS = ("mr",)
SERVING_QUICK_TEXTS = 100  # --quick: the first test texts only
SERVING_QUICK_TRAINING = ("--max_steps", "5")  # --quick: a few optimiser steps, the package defaults otherwise
# --quick skips the fresh processes (peak RSS, cold `gru-hf`): each imports torch (5 s here), which the test suite's
# --quick run cannot afford; tests/test_benchmark.py checks the fresh-process protocol on a fastText row instead.
SERVING_QUICK_FRESH_PROCESSES = False
SERVING_BATCH = 64
SERVING_REPEATS = 3  # interleaved passes over the test texts per row; latencies of every pass are pooled
SERVING_THREADS = 1  # every row, speed and memory: torch, onnxruntime, BLAS (threadpoolctl), fastText
SERVING_COLD_REPEATS = 3  # cold `gru-hf` processes per command; the median is reported
# The distilled student served beside the default model: `gru-hf distill` with the package defaults, one GRU layer
# and each of these hidden sizes, taught by the distillation section's MiniLM teacher of the dataset
# (outputs/bench-teachers/NAME, its logit cache reused; skipped when that section has not fine-tuned one, and in
# --quick). The served student is the smallest whose validation accuracy is within SERVING_STUDENT_WITHIN points of
# the best size's (the fast-serving issue's rule for the student it reports).
SERVING_STUDENT_HIDDEN = (128, 64, 48, 32)
SERVING_STUDENT_WITHIN = 1.0
SERVING_STUDENT_NAME = "distilled student"
# model2vec: a static model distilled from the local all-MiniLM-L6-v2 in its own virtual environment (the distill
# extra pins transformers < 5.4, which the main environment must not get), then StaticModelForClassification
# trained on it in the main environment, validation on the same carved split as the gru-hf job.
M2V_VENV = "/work/venvs/m2v"  # GRU_HF_M2V_VENV overrides
M2V_PCA_DIMS = 256
M2V_MAX_EPOCHS = 30  # cap on StaticModelForClassification.fit (early stopping, patience 5, decides before it)
M2V_ROW = "model2vec classifier"

# Distillation (issue 11): the teacher's fine-tuning beyond `gru-hf teacher`'s defaults (lr 5e-5, 3 epochs, warm-up
# 10%, length grouping), per dataset: SST-2's 60k phrases get 2 epochs (the 2-core budget). A side run of 2026-12-05
# (one teacher per rate, the section's splits, 2 Xeon cores) fine-tuned teachers at lr 1e-4: on their own validation
# they read 83.85 against 82.60 on MR and 90.50 against 90.35 on SST-2 (89.91 against 88.88 on dev), but a full
# run of this section with the 1e-4 SST-2 teacher (git 83835ec, outputs/bench-distill12, 3 seeds; not the record)
# gave students lower or equal on validation: random init 86.73 against 87.10 (lower on every seed), GloVe 88.66
# against 88.62. A teacher is for its students, so the default stays 5e-5. A teacher fine-tuned with another recipe
# than today's is not reused (`teacher_signature`).
DISTILL_DATASETS = ("mr", "sst2")  # the first one's validation chooses the settings the others use
DISTILL_TEACHER_OPTIONS = {"mr": {}, "sst2": {"num_train_epochs": 2}}
DISTILL_AUGMENT_SEED = 0
DISTILL_WORKERS = 2
# Candidates: `DistillArguments` overrides of the package defaults (augment_factor 4, mse on logits, alpha 0).
# The MR record of 2026-12-03 (git 88b1296) compared them with x2 as the package default: x2 80.94, kl T=2 80.94,
# alpha 0.5 80.42, none 79.17, x4 81.35 (chosen on validation, so x4 became the package default). From now on the
# default candidate is x4, and alpha / kl are measured on top of it.
DISTILL_DEFAULT_CANDIDATE = "package defaults (augment x4, mse, alpha 0)"
DISTILL_CANDIDATES = {
    DISTILL_DEFAULT_CANDIDATE: {},
    "no augmentation": {"augment_factor": 0},
    "alpha 0.5 (half gold cross-entropy)": {"distill_alpha": 0.5},
    "kl, temperature 2": {"distill_loss": "kl", "distill_temperature": 2.0},
    "augment x2": {"augment_factor": 2},
}
# SST-2 students: not chosen on SST-2 validation by this section (the MR choice carries over). Exploratory runs of
# `gru_hf.distillation.distill` with the section's SST-2 settings (seed 0, GloVe student, 3 epochs, one thread; not a
# record, SST-2 validation accuracy): x4 (as recorded) 87.48; embedding and classifier dropout 0.1 87.54; 2 layers
# (hidden dropout 0.3) 87.41; hidden 256 87.68; 6 epochs 87.33; x8 87.34 (516k transfer texts, 226k of them labelled
# anew on the CPU in 13.4 min); word vectors from the fine-tuned teacher instead of GloVe (each word encoded alone,
# mean of its word pieces, PCA) 87.97 at 128 dims and 87.56 at 300. One standard error is 0.39 points on its 7,213
# texts: none of these is a clear gain, so none was made a candidate.
# Per-dataset options of the distilled students, on top of the accuracy section's settings and the chosen candidate.
# SST-2's GloVe student takes `--glove_extra_words 100000` (the full 400k vectors' 100,000 most frequent words join
# the vocabulary, so the augmenter's GloVe neighbours include words training never had and the teacher labels the
# texts they appear in). Chosen on SST-2 validation by a side run of 2026-12-05 (teacher fine-tuned on 2 CPU cores,
# 88.88 on dev; seed 0, one thread): validation 88.80 against 87.16 without (4 standard errors), training 463 s
# against 251 s. On MR the serving section's hidden-128 student read neutral with it (+0.45 validation, +0.03 test,
# 3 seeds), so MR keeps the package defaults.
# SST-2's random-init student keeps the words seen once in training (`--min_frequency 1`; without --glove the package
# keeps words seen twice). Chosen on SST-2 validation by a side run of 2026-12-05 with the same teacher (3 seeds, one
# thread): 87.07 / 87.22 / 87.00 against the record's 86.76 / 86.54 / 86.95 (+0.35, higher on every seed). The
# same student without the teacher read 84.64 / 85.05 / 85.28 against 85.15 / 84.89 / 84.46 (+0.16), so the
# no-teacher row keeps the accuracy section's settings. With the teacher each training word is also met in its
# text's augmented copies, with soft targets. On MR (side run, teacher re-fine-tuned on the same machine, 3 seeds)
# it read 80.42 / 80.21 / 80.83 against 80.63 / 80.73 / 80.42 (-0.10), so MR keeps the package's vocabulary.
DISTILL_STUDENT_MODEL = {
    "sst2": {"glove": {"glove": "glove-6b-50d", "glove_extra_words": 100_000}, "random": {"min_frequency": 1}}
}
# Student sizes on MR validation with the package's distillation defaults (the MR GloVe settings otherwise: hidden
# 128, 2 layers, bidirectional, mean pooling).
STUDENT_SIZES = {
    "hidden 64, 1 layer": {"hidden_size": 64, "num_hidden_layers": 1},
    "hidden 128, 1 layer": {"hidden_size": 128, "num_hidden_layers": 1},
    "hidden 256, 1 layer": {"hidden_size": 256, "num_hidden_layers": 1},
    "hidden 256, 2 layers": {"hidden_size": 256, "num_hidden_layers": 2},
}
DISTILL_TARGETS = {
    "accuracy": {"mr": {"gru-hf distilled (GloVe 50d)": 82.0}, "sst2": {"gru-hf distilled (GloVe 50d)": 89.0}},
}

# Autotune (issue 12): `gru-hf train --glove glove-6b-50d` with and without `--autotune_seconds`, on the embedded BBC
# default, MR, SST-2 (sentence-held-out validation) and BBC's titles (short topic texts in a small training split,
# the defaults sweep's `bbc_titles`, test and validation carved 10% each); the target is the 300 s budget.
AUTOTUNE_DATASETS = ("bbc", "mr", "sst2", "bbc_titles")
AUTOTUNE_QUICK_DATASETS = ("mr",)  # the tiny copy of MR
AUTOTUNE_BUDGET_S = 300
AUTOTUNE_QUICK_BUDGET_S = 12
AUTOTUNE_WORKERS = 1  # one job at a time with every core, as a user runs it

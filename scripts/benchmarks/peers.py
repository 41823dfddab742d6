"""What gru-hf is compared with: the seed recipe (a plain PyTorch Embedding -> GRU -> Linear loop), TF-IDF + logistic
regression and fastText; plus the shared hand-written training loop and batching, so only the model differs."""

import json
import os
import random
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import gru_hf
from gru_hf.metrics import load_metric

from .fasttext_io import fasttext_file, fasttext_label, fasttext_text
from .settings import FASTTEXT_GRID, SEED_BATCH, SEED_EPOCHS, SEED_LR, SEED_SIZES, TFIDF_C_GRID
from .timing import Meter

_ACCURACY = None


def accuracy(pred, labels) -> float:
    """Accuracy in % through gru_hf.metrics (the training job's own metric)."""
    global _ACCURACY
    if not len(labels):
        return float("nan")
    if _ACCURACY is None:
        _ACCURACY = load_metric("accuracy")
    result = _ACCURACY.compute(predictions=[int(p) for p in pred], references=[int(y) for y in labels])
    return 100.0 * float(result["accuracy"])


def set_all_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, truncation=True)["input_ids"]


def random_order(n: int, generator: torch.Generator) -> list[int]:
    return torch.randperm(n, generator=generator).tolist()


def length_grouped_order(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[int]:
    """The Trainer's own sampler (`train_sampling_strategy="group_by_length"`)."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    return get_length_grouped_indices(lengths, batch_size, generator=generator)


def pad_batch(ids: list[list[int]], rows: list[int], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad the texts `rows` to the longest of them: (batch, longest) ids and the lengths."""
    lengths = [max(len(ids[r]), 1) for r in rows]
    out = torch.full((len(rows), max(lengths)), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        if ids[r]:
            out[i, : len(ids[r])] = torch.tensor(ids[r], dtype=torch.long)
    return out, torch.tensor(lengths, dtype=torch.long)


def batches(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


class SeedClassifier(nn.Module):
    """nn.Embedding -> nn.GRU -> nn.Linear on the final hidden state, run over right-padded batches.

    Textbook and wrong on padded input: `hidden[-1]` is the state after the padding. With `packed=True` the batch
    is packed first (`pack_padded_sequence`), which makes it correct."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_labels, bidirectional=False, packed=False):
        super().__init__()
        self.packed = packed
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_labels)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embedding(input_ids)  # (batch, seq_len, embedding_dim)
        if self.packed:
            x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, hidden = self.gru(x)  # (directions, batch, hidden)
        final = torch.cat([hidden[-2], hidden[-1]], dim=-1) if self.bidirectional else hidden[-1]
        return self.fc(final)


class GRUHFAdapter(nn.Module):
    """gru-hf's GRUForSequenceClassification behind the same call signature as SeedClassifier."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_labels, bidirectional=False, **config):
        super().__init__()
        config = {"embedding_dropout": 0.0, "classifier_dropout": 0.0, "pooling": "last", **config}
        self.model = gru_hf.GRUForSequenceClassification(
            gru_hf.GRUConfig(
                vocab_size=vocab_size,
                embedding_dim=embedding_dim,
                hidden_size=hidden_size,
                bidirectional=bidirectional,
                num_labels=num_labels,
                **config,
            )
        )

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.arange(input_ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        return self.model(input_ids=input_ids, attention_mask=mask).logits


def train_loop(model, ids, labels, epochs, order_fn, seed, batch_size=SEED_BATCH, lr=SEED_LR, after_epoch=None):
    """Adam + cross-entropy over padded batches. Returns a `Meter` over the training steps (batch building
    included, evaluation excluded)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    label_tensor = torch.tensor(labels, dtype=torch.long)
    meter = Meter()
    for epoch in range(epochs):
        model.train()
        order = order_fn(generator)
        meter.start()
        for rows in batches(order, batch_size):
            input_ids, lengths = pad_batch(ids, rows)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(input_ids, lengths), label_tensor[rows])
            loss.backward()
            optimizer.step()
            meter.tick(sum(len(ids[r]) for r in rows))
        meter.pause()
        if after_epoch is not None:
            after_epoch(epoch)
    return meter


@torch.inference_mode()
def predict(model, ids, batch_size=256) -> np.ndarray:
    """Batches in data order, padded to their longest text (the textbook evaluation)."""
    model.eval()
    out = []
    for rows in batches(list(range(len(ids))), batch_size):
        input_ids, lengths = pad_batch(ids, rows)
        out.append(model(input_ids, lengths).argmax(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def run_seed_recipe(splits: dict, name: str, seed: int, quick: bool, tokenizer) -> dict:
    """The seed recipe on gru-hf's tokenizer: fixed epochs (settings.SEED_EPOCHS), random batches, no
    flush-to-zero, validation after every epoch (the curve the epochs were chosen from)."""
    ids = {split: encode(tokenizer, splits[split][0]) for split in ("train", "validation", "test")}
    set_all_seeds(seed)
    sizes = {"embedding_dim": 16, "hidden_size": 16} if quick else SEED_SIZES
    model = SeedClassifier(len(tokenizer), sizes["embedding_dim"], sizes["hidden_size"], splits["num_labels"])
    epochs = 1 if quick else SEED_EPOCHS[name]
    curve = []

    def validate(epoch):
        curve.append(accuracy(predict(model, ids["validation"]), splits["validation"][1]))

    torch.set_flush_denormal(False)  # the textbook loop: no flush-to-zero
    n = len(ids["train"])
    try:
        meter = train_loop(
            model, ids["train"], splits["train"][1], epochs, lambda g: random_order(n, g), seed, after_epoch=validate
        )
    finally:
        torch.set_flush_denormal(True)
    timing = meter.result()
    return {
        "seed": seed,
        "test_accuracy": accuracy(predict(model, ids["test"]), splits["test"][1]),
        "validation_accuracy": curve[-1],
        "validation_curve": curve,
        "train_s": timing["seconds"],
        "tokens_per_s": timing["tokens_per_s"],
    }


def run_tfidf(splits: dict, quick: bool, keep_model: bool = False) -> dict:
    """TF-IDF (1-2 grams, sublinear tf) + logistic regression, C chosen on validation (deterministic: one run).
    With `keep_model`, the chosen (vectorizer, classifier) is under "model"."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train_texts, train_labels = splits["train"]
    grid = {}
    best = None
    for c in TFIDF_C_GRID[:1] if quick else TFIDF_C_GRID:
        start = time.perf_counter()
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x = vectorizer.fit_transform(train_texts)
        classifier = LogisticRegression(C=c, max_iter=2000).fit(x, train_labels)
        seconds = time.perf_counter() - start
        val = accuracy(classifier.predict(vectorizer.transform(splits["validation"][0])), splits["validation"][1])
        grid[str(c)] = val
        if best is None or val > best[0]:
            best = (val, c, vectorizer, classifier, seconds)
    val, c, vectorizer, classifier, seconds = best
    test = accuracy(classifier.predict(vectorizer.transform(splits["test"][0])), splits["test"][1])
    result = {
        "runs": [{"seed": 0, "test_accuracy": test, "validation_accuracy": val, "train_s": seconds}],
        "chosen": {"C": c, "ngram_range": [1, 2], "sublinear_tf": True},
        "validation_grid": grid,
    }
    if keep_model:
        result["model"] = (vectorizer, classifier)
    return result


def run_fasttext(splits: dict, seeds, quick: bool, workdir: str) -> dict:
    """fastText supervised with word bigrams, one thread; epochs and lr chosen on validation, then one run a seed."""
    import fasttext

    def fit(params, seed):
        start = time.perf_counter()
        model = fasttext.train_supervised(input=train_file, wordNgrams=2, thread=1, seed=seed, verbose=0, **params)
        return model, time.perf_counter() - start

    def score(model, split):
        texts, labels = splits[split]
        predicted, _ = model.predict([fasttext_text(t) for t in texts])
        return accuracy([fasttext_label(p[0]) for p in predicted], labels)

    train_file = fasttext_file(os.path.join(workdir, "fasttext.train.txt"), *splits["train"])
    grid = {}
    for params in FASTTEXT_GRID[:1] if quick else FASTTEXT_GRID:
        model, _ = fit(params, seeds[0])
        grid[json.dumps(params, sort_keys=True)] = score(model, "validation")
    chosen = json.loads(max(grid, key=grid.get))
    runs = []
    for seed in seeds:
        model, seconds = fit(chosen, seed)
        runs.append(
            {
                "seed": seed,
                "test_accuracy": score(model, "test"),
                "validation_accuracy": score(model, "validation"),
                "train_s": seconds,
            }
        )
    return {"runs": runs, "chosen": {**chosen, "wordNgrams": 2, "thread": 1}, "validation_grid": grid}

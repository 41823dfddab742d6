"""--adversarial_epsilon: adversarial training on the embeddings (Miyato et al. 2017), each step's gradient that of
the batch's loss plus the loss of the batch with its embedded texts moved along their gradient."""

import pytest
import torch
from conftest import tiny_args, tiny_config
from safetensors.torch import load_file
from test_class_weight import TWO_LABELS, fixed_batch, trainer_for
from test_training import run

from gru_hf.modeling_gru import GRUForSequenceClassification
from gru_hf.training import adversarial_shift


def test_the_shift_has_norm_epsilon_over_each_text():
    gradient = torch.tensor([[[3.0, 0.0], [0.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    shift = adversarial_shift(gradient, 0.5)
    # Text 0: |g| = 5, so g / 10; a text without gradient stays; text 2: |g| = 2, so g / 4.
    torch.testing.assert_close(shift[0], gradient[0] / 10)
    assert torch.equal(shift[1], torch.zeros(2, 2))
    torch.testing.assert_close(shift[2], gradient[2] / 4)
    torch.testing.assert_close(shift.flatten(1).norm(dim=1), torch.tensor([0.5, 0.0, 0.5]))


def expected_gradients(model, batch, epsilon):
    """Miyato et al.'s objective by hand, through `inputs_embeds`: L(e) + L(e + epsilon * g / |g|), g = dL/de."""
    embedding = model.get_input_embeddings()
    mask, labels = batch["attention_mask"], batch["labels"]
    params = [p for p in model.parameters() if p.requires_grad]
    embedded = embedding(batch["input_ids"])
    if not embedded.requires_grad:
        embedded.requires_grad_(True)
    clean = model(inputs_embeds=embedded, attention_mask=mask, labels=labels).loss
    (gradient,) = torch.autograd.grad(clean, embedded, retain_graph=True)
    norm = gradient.flatten(1).norm(dim=1).view(-1, 1, 1)
    moved = embedding(batch["input_ids"]) + epsilon * gradient / norm
    adversarial = model(inputs_embeds=moved, attention_mask=mask, labels=labels).loss
    return clean.detach(), torch.autograd.grad(clean + adversarial, params)


@pytest.mark.parametrize("frozen", [False, True])
def test_a_step_learns_the_batch_and_its_adversarial_copy(tmp_path, tokenizer, frozen):
    torch.manual_seed(0)
    # Dropout 0 (tiny_config): both forward passes are deterministic, so the gradients can be computed by hand.
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS, pooling="max"))
    model.get_input_embeddings().weight.requires_grad_(not frozen)
    model.train()
    batch = fixed_batch(tokenizer)
    clean, expected = expected_gradients(model, batch, 0.5)
    trainer = trainer_for(model, tmp_path, tokenizer, adversarial_epsilon=0.5)
    trainer.create_optimizer()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop, which this test skips
    model.zero_grad()
    loss = trainer.training_step(model, dict(batch))
    params = [p for p in model.parameters() if p.requires_grad]
    assert len(params) == len(expected) and params[0].grad is not None
    for param, gradient in zip(params, expected):
        torch.testing.assert_close(param.grad, gradient)
    torch.testing.assert_close(loss, clean)  # the logged loss is the unmoved batch's
    # Without it, the step's gradient is the batch's alone.
    plain = trainer_for(model, tmp_path, tokenizer)
    plain.create_optimizer()
    plain.current_gradient_accumulation_steps = 1
    model.zero_grad()
    plain.training_step(model, dict(batch))
    assert not torch.allclose(params[-1].grad, expected[-1])


def test_a_job_with_adversarial_training(tmp_path, tiny_files):
    plain = run(tiny_args(tiny_files, tmp_path / "plain", "--export_onnx", "false"))
    out = tmp_path / "adversarial"
    results = run(tiny_args(tiny_files, out, "--adversarial_epsilon", "0.5", "--export_onnx", "false"))
    assert set(results) == set(plain)
    first, second = load_file(tmp_path / "plain" / "model.safetensors"), load_file(out / "model.safetensors")
    assert first.keys() == second.keys() and not torch.equal(first["classifier.weight"], second["classifier.weight"])
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| `adversarial_epsilon` | `0.5` |" in card
    assert "| `adversarial_epsilon` | `None` |" in (tmp_path / "plain" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["-0.1", "nan", "inf"])
def test_a_bad_epsilon_is_one_clear_error(tmp_path, tiny_files, value):
    out = tmp_path / "model"
    with pytest.raises(ValueError, match=f"--adversarial_epsilon must be a finite number, 0 or more, got {value}"):
        run(tiny_args(tiny_files, out, "--adversarial_epsilon", value))
    assert not out.exists()

"""Lowering intents to training recipes, validated by the toolkit's own resolver (no torch)."""

from __future__ import annotations

import sys

import pytest

from loom.adapters.builders.nemo import recipes
from loom.adapters.builders.nemo.adapter import with_spec
from loom.domain.errors import ConfigError
from loom.domain.training import Budget, TrainIntent, resources_for

PRETRAIN_KEYS = {"recipe", "step_scheduler", "dist_env", "seed", "model", "checkpoint", "distributed",
                 "loss_fn", "dataset", "dataloader", "validation_dataset", "validation_dataloader",
                 "optimizer", "lr_scheduler"}
BI_ENCODER_KEYS = {"recipe", "seed", "temperature", "step_scheduler", "dist_env", "model", "tokenizer",
                   "dataset", "dataloader", "optimizer", "lr_scheduler", "checkpoint", "distributed"}


@pytest.mark.parametrize(("objective", "recipe", "keys"), [
    ("next-event", "TrainFinetuneRecipeForNextTokenPrediction", PRETRAIN_KEYS),
    ("masked-field", "DiffusionLMSFTRecipe", PRETRAIN_KEYS | {"dllm"}),
    ("contrastive", "TrainBiEncoderRecipe", BI_ENCODER_KEYS),
])
def test_each_objective_lowers_to_a_resolvable_recipe(objective: str, recipe: str, keys: set[str]) -> None:
    intent = TrainIntent.of("IngestDataset/1", objective=objective, budget="small")
    res = resources_for(Budget.SMALL)
    lowered = recipes.lower(intent, res)
    assert lowered["recipe"] == recipe and set(lowered) == keys
    assert recipes.resolve(recipe).endswith("." + recipe)
    sched = lowered["step_scheduler"]
    assert (sched["max_steps"], sched["global_batch_size"], sched["local_batch_size"]) == (
        res.max_steps, res.global_batch_size, res.local_batch_size)
    assert lowered["distributed"]["dp_size"] == res.gpus
    assert "torch" not in sys.modules


def test_masked_field_uses_the_reserved_mask_id_and_budgets_scale() -> None:
    low = recipes.lower(TrainIntent.of("IngestDataset/1", objective="masked-field"), resources_for(Budget.PROBE))
    high = recipes.lower(TrainIntent.of("IngestDataset/1", objective="masked-field", budget="full"),
                         resources_for(Budget.FULL))
    assert low["dllm"]["mask_token_id"] == recipes.MASK_ID == 2
    assert low["step_scheduler"]["max_steps"] < high["step_scheduler"]["max_steps"]
    assert low["model"]["config"]["hidden_size"] < high["model"]["config"]["hidden_size"]


def test_unknown_recipe_or_target_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown"):
        recipes.resolve("NoSuchRecipe")
    with pytest.raises(ConfigError, match="allowlist"):
        recipes.check_targets({"model": {"_target_": "os.system"}})
    with pytest.raises(ConfigError, match="not in the installed toolkit"):
        recipes.check_targets({"loss_fn": {"_target_": "nemo_automodel.components.loss.masked_ce.NoSuchLoss"}})
    assert "torch" not in sys.modules


def test_gpu_targets_become_metaflow_with_options() -> None:
    assert with_spec("local") == []
    assert with_spec("kubernetes") == ["--with", "kubernetes"]
    assert with_spec("batch:queue=gpu") == ["--with", "batch:queue=gpu"]

"""Lowering a TrainIntent to a NeMo AutoModel recipe (a YAML mapping), without torch.

Objective -> recipe class:
- next-event   -> causal-LM pretraining from scratch (TrainFinetuneRecipeForNextTokenPrediction,
                  a small GPT-2 built from config, on token shards of the event sequences);
- masked-field -> masked denoising, bidirectional (DiffusionLMSFTRecipe, mode `mdlm`, with
                  Loom's reserved [MASK] id);
- contrastive  -> the bi-encoder recipe (TrainBiEncoderRecipe): two windows of the same
                  entity are a positive pair, in-batch negatives.
Budget -> resources: GPUs (--nproc-per-node), global/local batch sizes, data-parallel size,
max_steps, hidden size. Data paths are relative to the GPU step's working directory, where the
TrainBackbone step writes the shards/pairs from the dataset it reads with the Client API.

The recipe name is validated with nemo_automodel's own resolver (`resolve_recipe_name`, which
scans the installed recipes as text: no torch). `load_yaml_config()` is never called here: it
imports every `_target_` and needs the full GPU stack.
"""

from __future__ import annotations

from typing import Any

from loom.domain.errors import ConfigError
from loom.domain.training import Objective, Resources, TrainIntent

RECIPES = {
    Objective.NEXT_EVENT: "TrainFinetuneRecipeForNextTokenPrediction",
    Objective.MASKED_FIELD: "DiffusionLMSFTRecipe",
    Objective.CONTRASTIVE: "TrainBiEncoderRecipe",
}

#: Event-token vocabulary bound (token shards are uint16; the step fits at most this many ids).
VOCAB_BOUND = 32_768
MASK_ID = 2  # Loom's reserved [MASK] id (pad 0, unk 1, mask 2)
SEQ_LEN = {"probe": 256, "small": 1024, "full": 2048}
TRAIN_SHARDS = "data/events_train_*.bin"
VAL_SHARDS = "data/events_val_*.bin"
PAIRS_FILE = "data/event_pairs.jsonl"
CHECKPOINT_DIR = "checkpoints"


def resolve(recipe: str) -> str:
    """The recipe's fully-qualified target, per nemo_automodel's resolver; ConfigError if unknown."""
    try:
        from nemo_automodel.cli.utils import resolve_recipe_name
    except ImportError:  # pragma: no cover - install.sh installs it
        raise ConfigError("the GPU training toolkit is not installed", hint="run ./install.sh") from None
    try:
        return resolve_recipe_name(recipe)
    except ValueError:
        raise ConfigError(f"training recipe '{recipe}' is unknown to the installed toolkit") from None


def targets(recipe: Any) -> list[str]:
    """Every dotted import target in a recipe (`_target_` values and string collate_fns)."""
    found: list[str] = []
    if isinstance(recipe, dict):
        for key, value in recipe.items():
            if key in ("_target_", "collate_fn") and isinstance(value, str):
                found.append(value)
            else:
                found += targets(value)
    elif isinstance(recipe, list):
        for value in recipe:
            found += targets(value)
    return found


def check_targets(recipe: dict[str, Any]) -> None:
    """Each target passes the toolkit's import allowlist, and its own targets exist in the
    installed package (checked on disk, as text: importing them would need torch)."""
    import re
    from pathlib import Path

    import nemo_automodel
    from nemo_automodel.components.config.loader import ALLOWED_IMPORT_PREFIXES

    root = Path(nemo_automodel.__file__).resolve().parent.parent
    for target in targets(recipe):
        parts = target.split(".")
        if parts[0] not in ALLOWED_IMPORT_PREFIXES:
            raise ConfigError(f"recipe target '{target}' is outside the toolkit's import allowlist")
        if parts[0] != "nemo_automodel":
            continue
        for i in range(len(parts), 0, -1):
            base = root.joinpath(*parts[:i])
            source = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
            if source.is_file():
                break
        else:  # pragma: no cover - parts[0] always exists
            raise ConfigError(f"recipe target '{target}' is not in the installed toolkit")
        rest = parts[i:]
        if rest and not re.search(rf"\b{re.escape(rest[0])}\b", source.read_text(encoding="utf-8")):
            raise ConfigError(f"recipe target '{target}' is not in the installed toolkit")


def lower(intent: TrainIntent, res: Resources) -> dict[str, Any]:
    """The recipe mapping for `intent` under `res` (plain YAML-safe values), validated."""
    recipe = RECIPES[intent.objective]
    resolve(recipe)
    lowered = _lower(intent, res, recipe)
    check_targets(lowered)
    return lowered


def _lower(intent: TrainIntent, res: Resources, recipe: str) -> dict[str, Any]:
    seq_len = SEQ_LEN[intent.budget.value]
    heads = max(4, res.dim // 64)
    layers = {"probe": 4, "small": 12, "full": 24}[intent.budget.value]
    common: dict[str, Any] = {
        "recipe": recipe,
        "seed": intent.seed,
        "step_scheduler": {
            "global_batch_size": res.global_batch_size,
            "local_batch_size": res.local_batch_size,
            "max_steps": res.max_steps,
            "ckpt_every_steps": max(1, res.max_steps // 4),
            "val_every_steps": max(1, res.max_steps // 10),
            "num_epochs": 1,
        },
        "dist_env": {"backend": "nccl", "timeout_minutes": 30},
        "checkpoint": {
            "enabled": True,
            "checkpoint_dir": CHECKPOINT_DIR,
            "model_save_format": "safetensors",
            "save_consolidated": True,
        },
        "distributed": {
            "strategy": "fsdp2",
            "dp_size": res.gpus * res.nodes,
            "tp_size": 1,
            "cp_size": 1,
            "pp_size": 1,
            "sequence_parallel": False,
        },
        "optimizer": {"_target_": "torch.optim.AdamW", "lr": 3.0e-4, "betas": [0.9, 0.95],
                      "weight_decay": 0.1},
        "lr_scheduler": {"lr_decay_style": "cosine", "lr_warmup_steps": max(1, res.max_steps // 20),
                         "min_lr": 3.0e-5},
    }
    if intent.objective is Objective.CONTRASTIVE:
        return {**common, **_bi_encoder(res, seq_len)}
    train = _token_shards(TRAIN_SHARDS, seq_len, res, shuffle=True)
    val = _token_shards(VAL_SHARDS, seq_len, res, shuffle=False)
    shards = {
        "dataset": train["dataset"],
        "dataloader": train["dataloader"],
        "validation_dataset": val["dataset"],
        "validation_dataloader": val["dataloader"],
        "loss_fn": {"_target_": "nemo_automodel.components.loss.masked_ce.MaskedCrossEntropy"},
    }
    if intent.objective is Objective.NEXT_EVENT:
        model = {
            "_target_": "nemo_automodel.components.models.gpt2.build_gpt2_model",
            "vocab_size": VOCAB_BOUND, "n_positions": seq_len, "n_embd": res.dim,
            "n_layer": layers, "n_head": heads, "bos_token_id": 0, "eos_token_id": 0,
        }
        return {**common, "model": model, **shards}
    model = {  # masked-field: a small Llama-style body trained as a bidirectional denoiser
        "_target_": "nemo_automodel.NeMoAutoModelForCausalLM.from_config",
        "config": {
            "_target_": "transformers.LlamaConfig",
            "vocab_size": VOCAB_BOUND, "hidden_size": res.dim, "intermediate_size": res.dim * 4,
            "num_hidden_layers": layers, "num_attention_heads": heads,
            "max_position_embeddings": seq_len, "pad_token_id": 0,
        },
    }
    dllm = {"mode": "mdlm", "mask_token_id": MASK_ID, "eps": 0.001, "supervise_padding": False}
    return {**common, "model": model, "dllm": dllm, **shards}


def _bi_encoder(res: Resources, seq_len: int) -> dict[str, Any]:
    base = "sentence-transformers/all-MiniLM-L6-v2" if res.dim <= 512 else "intfloat/e5-base-v2"
    return {
        "temperature": 0.02,
        "model": {
            "_target_": "nemo_automodel.NeMoAutoModelBiEncoder.from_pretrained",
            "pretrained_model_name_or_path": base, "pooling": "avg", "l2_normalize": True,
            "torch_dtype": "bfloat16",
        },
        "tokenizer": {
            "_target_": "nemo_automodel.NeMoAutoTokenizer.from_pretrained",
            "pretrained_model_name_or_path": base,
        },
        "dataset": {
            "_target_": "nemo_automodel.components.datasets.llm.retrieval_dataset.RetrievalDatasetConfig",
            "model_type": "bi_encoder", "data_dir_list": [PAIRS_FILE], "data_type": "train",
            "n_passages": 2, "seed": 0, "do_shuffle": True,
        },
        "dataloader": {
            "collate_fn": {
                "_target_": "nemo_automodel.components.datasets.llm.BiEncoderCollator",
                "q_max_len": seq_len, "p_max_len": seq_len,
                "query_prefix": "events:", "passage_prefix": "events:", "pad_to_multiple_of": 8,
            },
            "shuffle": True, "num_workers": 0,
        },
    }


def to_yaml(recipe: dict[str, Any]) -> str:
    import yaml

    header = ("# Generated by `loom train` from the training intent; run by the TrainBackbone\n"
              "# step with the command in plan.json. Data paths are relative to the step's cwd.\n")
    return header + yaml.safe_dump(recipe, sort_keys=False)


def _token_shards(pattern: str, seq_len: int, res: Any, *, shuffle: bool) -> dict[str, dict[str, Any]]:
    """A nanoGPT-format token-shard dataset and its dataloader (train or validation)."""
    return {
        "dataset": {
            "_target_": "nemo_automodel.components.datasets.llm.nanogpt_dataset.NanogptDataset",
            "file_pattern": pattern, "seq_len": seq_len, "shuffle_files": shuffle,
            "drop_last": True, "infinite": False,
        },
        "dataloader": {
            "_target_": "torchdata.stateful_dataloader.StatefulDataLoader",
            "batch_size": res.local_batch_size, "shuffle": False,
            "collate_fn": "nemo_automodel.components.datasets.utils.default_collater",
        },
    }

"""Checkpoints: what a release snapshots before it runs and puts back after a failure."""

from __future__ import annotations

from safe_release._checkpoints._alembic import AlembicCheckpoint, alembic_checkpoint
from safe_release._checkpoints._checkpoint_set import CheckpointRecord, CheckpointSet
from safe_release._checkpoints._custom import CustomCheckpoint, checkpoint
from safe_release._checkpoints._protocol import Checkpointable, CheckpointContext, JsonState
from safe_release._checkpoints._rebuild import find, rebuild, register_rebuild
from safe_release._checkpoints._retention import prune_checkpoints
from safe_release._checkpoints._table import TableCheckpoint, table_checkpoint

__all__ = [
    "AlembicCheckpoint",
    "CheckpointContext",
    "CheckpointRecord",
    "CheckpointSet",
    "Checkpointable",
    "CustomCheckpoint",
    "JsonState",
    "TableCheckpoint",
    "alembic_checkpoint",
    "checkpoint",
    "find",
    "prune_checkpoints",
    "rebuild",
    "register_rebuild",
    "table_checkpoint",
]

"""The ``settings`` object handed to a train-settings module's ``run(settings)``."""
from __future__ import annotations

from typing import Any

import torch

from .environment import EnvironmentSettings, env_settings


class Settings:
    """LTR's settings: ``env`` plus whatever ``run()`` adds (``batch_size``, ``num_workers``, ...)."""

    def __init__(self, **overrides: Any) -> None:
        self.env: EnvironmentSettings = env_settings()
        self.use_gpu = torch.cuda.is_available()
        self.batch_size = 1
        self.num_workers = 0
        self.print_interval = 10
        self.print_stats: list[str] | None = None
        self.description = ""
        self.module_name = ""
        self.script_name = ""
        self.project_path = ""
        self.seed = 0
        self.normalize_mean = (0.485, 0.456, 0.406)
        self.normalize_std = (0.229, 0.224, 0.225)
        self.grad_clip_max_norm: float | None = None
        self.move_data_to_gpu = True
        # Framework defaults a settings module may still change through defaults().
        self._framework_defaults = set(vars(self)) - {"env"}
        for key, value in overrides.items():
            setattr(self, key, value)
            self._framework_defaults.discard(key)

    def override(self, key: str, value: Any) -> None:
        """A user override (``--set``): fixed even if the settings module calls ``defaults``."""
        setattr(self, key, value)
        self._framework_defaults.discard(key)

    def defaults(self, **values: Any) -> None:
        """Set attributes not set yet: settings modules call this, so ``--set key=value`` wins."""
        for key, value in values.items():
            if key not in self.__dict__ or key in self._framework_defaults:
                self.__dict__[key] = value
                self._framework_defaults.discard(key)

    @property
    def device(self) -> torch.device:
        """CUDA when present and allowed, else CPU (``settings.device = ...`` overrides)."""
        if "_device" in self.__dict__:
            return self.__dict__["_device"]
        if self.use_gpu and torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    @device.setter
    def device(self, value: str | torch.device) -> None:
        self.__dict__["_device"] = torch.device(value)

    def to_plain_dict(self) -> dict[str, Any]:
        """Simple values only, so checkpoints stay loadable with ``weights_only=True``."""
        plain: dict[str, Any] = {}
        for key, value in vars(self).items():
            if key == "env":
                plain["env"] = {k: str(v) for k, v in vars(value).items()}
            elif key == "_framework_defaults":
                continue
            elif isinstance(value, (int, float, str, bool, type(None))):
                plain[key.lstrip("_")] = value
            elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bool)) for v in value):
                plain[key] = list(value)
            elif isinstance(value, torch.device):
                plain[key.lstrip("_")] = str(value)
        return plain

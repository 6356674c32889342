"""Running averages of training statistics, one history value per epoch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AverageMeter:
    """Weighted running average of one statistic; ``new_epoch`` pushes the epoch mean to ``history``."""

    sum: float = 0.0
    count: float = 0.0
    history: list[float] = field(default_factory=list)

    def update(self, value: float, weight: float = 1.0) -> None:
        self.sum += float(value) * weight
        self.count += weight

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else float("nan")

    def new_epoch(self) -> None:
        if self.count:
            self.history.append(self.avg)
        self.sum, self.count = 0.0, 0.0

    def state(self) -> dict:
        return {"history": list(self.history)}

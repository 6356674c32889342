"""EVS Refiner (thesis §3.3.5; architecture chosen in docs/evs.md §5.2, a [D] decision).

The thesis states only that the Refiner reuses warped low-level features of past frames,
computes the higher-level part for the current image and contains CFF units. We take
"ICNet without its half-resolution trunk": the warped conv3_1 features replace the current
frame's, the low-resolution branch, the full-resolution branch, both CFF units and the
classifier are ICNet's (same layer names, so :meth:`Refiner.from_icnet` copies them).

Training details are not in the thesis either; see docs/evs.md §7 for the proposal.

Optional (off by default, ``uses_pwarped``): the warped probabilities P_warped are concatenated
to the 1/4-resolution fused map before the classifier. The thesis figure that might show such
an input is not available as text, so this stays an experiment.
"""

from __future__ import annotations

import torch

from ..errors import EVSInputError
from .blocks import ICNetConfig
from .icnet import ICNet, ICNetHead, ICNetOutput, resolve_config


class Refiner(ICNetHead):
    """ICNet's high-level part fed with warped low-level features."""

    def __init__(self, cfg: ICNetConfig | None = None, uses_pwarped: bool = False) -> None:
        cfg = cfg or ICNetConfig()
        super().__init__(cfg, classifier_extra_channels=cfg.num_classes if uses_pwarped else 0)
        self.uses_pwarped = uses_pwarped

    def forward(
        self,
        image: torch.Tensor,
        features: torch.Tensor,
        p_warped: torch.Tensor | None = None,
        with_aux: bool | None = None,
        full_size: bool = False,
    ) -> ICNetOutput:
        """Refiner logits at 1/4 of ``image``.

        ``image``: current frame, N×3×H×W normalised like ICNet's input; ``features``: warped
        low-level features, N×feature_channels at 1/16 of ``image`` (exactly what
        :meth:`ICNet.low_level` returns, warped); ``p_warped``: N×classes×h×w, only with
        ``uses_pwarped``.
        """
        if self.uses_pwarped and p_warped is None:
            raise EVSInputError("this Refiner was built with uses_pwarped=True and needs p_warped")
        extra = p_warped if self.uses_pwarped else None
        return self._decode(image, features, self.training if with_aux is None else with_aux, full_size, extra)

    @classmethod
    def from_icnet(cls, icnet: ICNet, uses_pwarped: bool = False) -> Refiner:
        """A Refiner initialised from a trained ICNet (every layer of the same name).

        With ``uses_pwarped`` the classifier's extra input columns start at zero, so the new
        Refiner still computes exactly ICNet's high-level output.
        """
        refiner = cls(icnet.cfg, uses_pwarped=uses_pwarped).to(next(icnet.parameters()).device)
        source = {k: v for k, v in icnet.state_dict().items() if not k.startswith("trunk.")}
        if uses_pwarped:
            weight = source["classifier.weight"]
            padded = weight.new_zeros(refiner.classifier.weight.shape)
            padded[:, : weight.shape[1]] = weight
            source["classifier.weight"] = padded
        refiner.load_state_dict(source, strict=True)
        return refiner.train(icnet.training)


def build_refiner(config: str | ICNetConfig = "standard", uses_pwarped: bool = False, **overrides) -> Refiner:
    """Refiner from a registered ICNet configuration ('standard', 'small') with optional overrides."""
    return Refiner(resolve_config(config, **overrides), uses_pwarped=uses_pwarped)

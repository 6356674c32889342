"""Make our trackers, parameters and train settings runnable from a user's PyTracking checkout.

``python -m pytracking_ext.bridge install PYTRACKING_ROOT`` writes small shim modules that import
from this package; ``uninstall`` removes exactly those (see :mod:`.checkout`).
"""

from .checkout import MANIFEST_NAME, Manifest, check_checkout, install, uninstall
from .shims import ShimPlan, plan_shims, train_settings_modules

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ShimPlan",
    "check_checkout",
    "install",
    "plan_shims",
    "train_settings_modules",
    "uninstall",
]

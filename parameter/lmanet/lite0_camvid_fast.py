"""``lite0_camvid`` with precision ``auto``: bf16 where the device computes it natively.

bf16 cost 0.05 mIoU on CamVid val with the shipped weights (61.68 fp32, 61.63 bf16;
``benchmarks/precision_miou.py``, docs/results.md "Shipped segmentation models").
"""

from parameter.lmanet import lite0_camvid


def parameters():
    params = lite0_camvid.parameters()
    params.precision = "auto"
    return params

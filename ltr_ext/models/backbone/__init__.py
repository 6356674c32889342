"""Backbones."""
from .resnet_mrcnn import ResNetMRCNN, resnet50_mrcnn

__all__ = ["ResNetMRCNN", "resnet50_mrcnn"]

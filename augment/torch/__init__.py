"""Training-code integration: a Dataset that yields originals plus filtered variants on the fly."""

from augment.torch.collate import collate_images, collate_text
from augment.torch.dataset import AugmentedDataset
from augment.torch.sampler import CappedBatchSampler

__all__ = ["AugmentedDataset", "CappedBatchSampler", "collate_images", "collate_text"]

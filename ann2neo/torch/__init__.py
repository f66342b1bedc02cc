"""PyTorch side: recording module spikes through forward hooks. PyTorch is imported on use."""
from .recording import is_torch_module, record

__all__ = ["record", "is_torch_module"]

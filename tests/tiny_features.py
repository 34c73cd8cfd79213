"""A small real conv net standing in for VGG-16's feature layers (VGG is too slow for some tests):
``net(x, layers)`` -> {"relu1_2": ..., "relu2_2": ...}, the layers asked for. Needs torch."""

import torch


class TinyFeatures(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 4, 3, padding=1, stride=2)

    def forward(self, x, layers):
        f1 = torch.relu(self.a(x))
        f2 = torch.relu(self.b(f1))
        return {k: v for k, v in (("relu1_2", f1), ("relu2_2", f2)) if k in layers}
